package io.rewardkit.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.cli.RewardKitCli;
import io.rewardkit.train.Checkpoints;
import io.rewardkit.train.MetricsLog;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short run on real data (the first 120 hh-rlhf harmless pairs, Qwen3 tokenizer, a tiny random
 * Qwen2-style model): the checkpoint is a Qwen2ForSequenceClassification directory with the
 * tokenizer files, and `rewardkit eval` on it reproduces the run's final eval metrics exactly.
 */
class HhRlhfRunTest {
  @TempDir Path tmp;

  @Test void trainSaveReloadEvalReproduces() throws Exception {
    Path shared = Path.of(System.getProperty("rewardkit.shared", "../shared"));
    Path data = shared.resolve("data/hh-rlhf-harmless/pairs-2000.jsonl");
    Path tok = shared.resolve("fixtures/tokenizers/qwen3");
    assumeTrue(Files.isRegularFile(data) && Files.isRegularFile(tok.resolve("tokenizer.json")),
        "shared data not found at " + shared + " (set -Drewardkit.shared)");
    Path subset = tmp.resolve("hh-120.jsonl");
    Files.write(subset, Files.readAllLines(data, StandardCharsets.UTF_8).subList(0, 120), StandardCharsets.UTF_8);
    Path cfg = tmp.resolve("config.json");
    Files.writeString(cfg, "{\"model_type\": \"qwen2\", \"hidden_size\": 32, \"intermediate_size\": 64, "
        + "\"num_hidden_layers\": 1, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"vocab_size\": 151669, "
        + "\"max_position_embeddings\": 1024, \"rms_norm_eps\": 1e-6, \"rope_theta\": 1000000.0}");
    Path out = tmp.resolve("run");
    assertEquals(0, RewardKitCli.run("train", "--init_config", cfg.toString(), "--tokenizer", tok.toString(),
        "--dataset", subset.toString(), "--eval_split", "0.2", "--on_bad_record", "skip", "--output_dir", out.toString(),
        "--max_length", "256", "--max_tokens_per_batch", "4096", "--learning_rate", "1e-3", "--max_steps", "4",
        "--logging_steps", "2", "--report", "false"));
    Path ckpt = Checkpoints.latest(out).orElseThrow();
    JsonNode config = new ObjectMapper().readTree(ckpt.resolve("config.json").toFile());
    assertEquals("Qwen2ForSequenceClassification", config.get("architectures").get(0).asText());
    assertTrue(Files.isRegularFile(ckpt.resolve("tokenizer.json")) && Files.isRegularFile(ckpt.resolve("tokenizer_config.json")));
    List<Map<String, Object>> rows = MetricsLog.read(out.resolve("metrics.jsonl"));
    Map<String, Object> lastEval = rows.stream().filter(r -> r.containsKey("eval_accuracy")).reduce((a, b) -> b).orElseThrow();

    Path json = tmp.resolve("eval.json");
    assertEquals(0, RewardKitCli.run("eval", "--model", ckpt.toString(), "--dataset", subset.toString(),
        "--eval_split", "0.2", "--output_json", json.toString()));
    JsonNode m = new ObjectMapper().readTree(json.toFile());
    for (String k : List.of("eval_loss", "eval_accuracy", "eval_margin", "eval_min_reward", "eval_mean_reward", "eval_max_reward")) {
      assertEquals(((Number) lastEval.get(k)).doubleValue(), m.get(k).asDouble(), 0.0, k);
    }
    assertTrue(m.get("eval_pairs").asInt() >= 15, "eval pairs " + m.get("eval_pairs"));
  }
}
