package io.rewardkit.eval;

import static io.rewardkit.cli.CliRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.cli.CliRun.Run;
import io.rewardkit.data.ByteTokenizer;
import io.rewardkit.data.PreparedCache;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `prepare` feeds `train`: a cache made with default options trains with default options (no data
 * option and no --tokenizer repeated), the run records the cache's options, and an option given to
 * `train` that differs from the cache's is refused naming each difference.
 */
class PrepareTrainFlowTest {
  @TempDir Path tmp;
  static final ObjectMapper JSON = new ObjectMapper();

  Path pairs() throws Exception {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      lines.add(JSON.writeValueAsString(java.util.Map.of("question", "what is " + i + "?", "good", "it is " + i,
          "bad", "no idea " + "z".repeat(i % 7))));
    }
    Path p = tmp.resolve("pairs.jsonl");
    Files.write(p, lines, StandardCharsets.UTF_8);
    return p;
  }

  Path tinyModel() throws Exception {
    Path cfg = tmp.resolve("tiny.json");
    Files.writeString(cfg, "{\"model_type\": \"llama\", \"hidden_size\": 16, \"intermediate_size\": 32, \"num_hidden_layers\": 1, "
        + "\"num_attention_heads\": 2, \"num_key_value_heads\": 2, \"vocab_size\": " + ByteTokenizer.VOCAB_SIZE
        + ", \"max_position_embeddings\": 2048, \"rms_norm_eps\": 1e-6, \"rope_theta\": 10000.0}");
    return cfg;
  }

  @Test void prepareDefaultsFeedTrainDefaults() throws Exception {
    Path cache = tmp.resolve("cache");
    // data keys on prepare (OpenRLHF style): the cache remembers them, train does not need them again
    Run p = run("prepare", pairs().toString(), "--prompt_key", "question", "--chosen_key", "good", "--rejected_key", "bad",
        "--output_dir", cache.toString());
    assertEquals(0, p.code(), p.err());
    Path out = tmp.resolve("run");
    Run t = run("train", "--init_config", tinyModel().toString(), "--dataset", cache.toString(), "--max_steps", "2",
        "--output_dir", out.toString(), "--report", "false");
    assertEquals(0, t.code(), t.err());
    assertTrue(t.out().contains("data options from prepared cache " + cache + ": prompt_key question, chosen_key good, "
        + "rejected_key bad; its tokenizer (byte)"), t.out());
    JsonNode data = JSON.readTree(out.resolve("final/rewardkit.json").toFile()).get("data");
    PreparedCache pc = PreparedCache.open(cache);
    for (var e : pc.optionValues().entrySet()) {
      assertEquals(String.valueOf(e.getValue()), data.get(e.getKey()).isNull() ? "null" : data.get(e.getKey()).asText(), e.getKey());
    }
    assertEquals("question", data.get("prompt_key").asText());
    // eval reads the cache with the checkpoint's options
    assertEquals(0, run("eval", "--model", out.toString(), "--dataset", cache.toString()).code());
  }

  @Test void trainSaysExactlyWhichOptionsDifferFromTheCache() throws Exception {
    Path cache = tmp.resolve("cache");
    assertEquals(0, run("prepare", "--dataset", pairs().toString(), "--prompt_key", "question", "--chosen_key", "good",
        "--rejected_key", "bad", "--max_length", "256", "--layout", "shared_prefix", "-o", cache.toString()).code());
    // a given option equal to the cache's is fine; differing ones are listed, each with the cache's value
    Run t = run("train", "--init_config", tinyModel().toString(), "--dataset", cache.toString(), "--layout", "shared_prefix",
        "--max_length", "512", "--seed", "7", "--output_dir", tmp.resolve("run").toString());
    assertEquals(2, t.code(), t.err());
    assertEquals("error: prepared cache " + cache + " was made with other data options: --max_length 512 (cache: 256), "
        + "--seed 7 (cache: 42); re-run `rewardkit prepare` with them, or leave them out to use the cache's",
        t.err().lines().findFirst().orElseThrow());
    assertTrue(!Files.exists(tmp.resolve("run")), "nothing written before the options are checked");
    // raw files with --init_config still need a tokenizer, and say that a cache brings its own
    Run raw = run("train", "--init_config", tinyModel().toString(), "--dataset", pairs().toString(), "--output_dir",
        tmp.resolve("raw").toString());
    assertEquals(2, raw.code());
    assertTrue(raw.err().startsWith("error: --init_config on raw data files needs --tokenizer"), raw.err());
  }
}
