package io.rewardkit.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.rewardkit.io.AtomicFiles;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes what the PyTorch peer ({@code benchmarks/peers/hf_peer.py}) needs to train on exactly the same
 * work: {@code config.json} (HF config of the shape), {@code pairs.jsonl} (the run's pairs as token ids,
 * in order) and {@code run.json} (pairs per optimizer step, warm-up and timed steps, seed).
 */
public final class PeerExport {
  private PeerExport() {}

  public static void write(Path dir, BenchConfig c, List<PairTokens> pairs) throws IOException {
    Files.createDirectories(dir);
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    AtomicFiles.writeString(dir.resolve("config.json"), json.writeValueAsString(c.shape().toHfConfig()) + "\n");
    Map<String, Object> run = new LinkedHashMap<>(BenchEngine.describe(c));
    run.put("num_pairs", pairs.size());
    AtomicFiles.writeString(dir.resolve("run.json"), json.writeValueAsString(run) + "\n");
    ObjectMapper line = new ObjectMapper();
    AtomicFiles.write(dir.resolve("pairs.jsonl"), out -> {
      Writer w = new OutputStreamWriter(out, StandardCharsets.UTF_8);
      for (PairTokens p : pairs) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("prompt_ids", p.prompt());
        m.put("chosen_ids", p.chosen());
        m.put("rejected_ids", p.rejected());
        w.write(line.writeValueAsString(m));
        w.write('\n');
      }
      w.flush();
    });
  }
}
