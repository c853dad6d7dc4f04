package io.rewardkit.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
    writeAtomic(dir.resolve("config.json"), json.writeValueAsString(c.shape().toHfConfig()) + "\n");
    Map<String, Object> run = new LinkedHashMap<>(BenchEngine.describe(c));
    run.put("num_pairs", pairs.size());
    writeAtomic(dir.resolve("run.json"), json.writeValueAsString(run) + "\n");
    ObjectMapper line = new ObjectMapper();
    Path tmp = dir.resolve("pairs.jsonl.tmp-" + ProcessHandle.current().pid());
    try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
      for (PairTokens p : pairs) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("prompt_ids", p.prompt());
        m.put("chosen_ids", p.chosen());
        m.put("rejected_ids", p.rejected());
        w.write(line.writeValueAsString(m));
        w.write('\n');
      }
    }
    Files.move(tmp, dir.resolve("pairs.jsonl"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** Writes {@code text} to a sibling temporary file, then renames it over {@code file}. */
  public static void writeAtomic(Path file, String text) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path tmp = parent.resolve(file.getFileName() + ".tmp-" + ProcessHandle.current().pid());
    Files.writeString(tmp, text, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
