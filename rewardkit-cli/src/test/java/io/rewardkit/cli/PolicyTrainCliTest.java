package io.rewardkit.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.model.safetensors.SafetensorsCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code rewardkit train --task ...} end to end on the embedded default task (byte tokenizer, tiny model). */
class PolicyTrainCliTest {

  private static List<JsonNode> records(Path metrics) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    ObjectMapper json = new ObjectMapper();
    for (String line : Files.readAllLines(metrics)) out.add(json.readTree(line));
    return out;
  }

  @Test
  void dpoWritesACausalLmAndTrlMetricsAndLearnsTheTask(@TempDir Path tmp) throws Exception {
    Path out = tmp.resolve("dpo");
    CliRun.Run r = CliRun.run("train", "--task", "dpo", "--max_steps", "24", "--logging_steps", "8", "--learning_rate", "1e-3",
        "--synthetic_train_pairs", "2000", "--synthetic_eval_pairs", "200", "--output_dir", out.toString());
    assertEquals(0, r.code(), r.err());
    JsonNode cfg = new ObjectMapper().readTree(out.resolve("final/config.json").toFile());
    assertEquals("LlamaForCausalLM", cfg.get("architectures").get(0).asText());
    try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(out.resolve("final"))) {
      assertTrue(ck.has("lm_head.weight") && !ck.has("score.weight"), ck.names().toString());
    }
    assertTrue(Files.isRegularFile(out.resolve("ref_logps_train.json")) && Files.isRegularFile(out.resolve("ref_logps_eval.json")));
    List<JsonNode> recs = records(out.resolve("metrics.jsonl"));
    assertEquals("run_start", recs.get(0).get("record").asText());
    assertEquals("dpo", recs.get(0).get("task").asText());
    JsonNode train = recs.stream().filter(n -> n.get("record").asText().equals("train")).reduce((a, b) -> b).orElseThrow();
    for (String k : List.of("loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins",
        "logps/chosen", "logps/rejected", "learning_rate", "grad_norm", "num_tokens", "tokens_per_s")) {
      assertTrue(train.has(k), "train record lacks " + k + ": " + train);
    }
    assertFalse(train.has("kl") || train.has("log_odds_ratio"), "metrics of other losses: " + train);
    JsonNode eval = recs.stream().filter(n -> n.get("record").asText().equals("eval")).findFirst().orElseThrow();
    // The synthetic copy task is learnable: 24 steps already lift held-out preference accuracy well above chance.
    assertTrue(eval.get("eval_rewards/accuracies").asDouble() > 0.6, eval.toString());
    assertEquals("run_end", recs.get(recs.size() - 1).get("record").asText());
  }

  @Test
  void referenceFreeTaskWritesNoReferenceAndResumeIsRefused(@TempDir Path tmp) throws Exception {
    Path out = tmp.resolve("orpo");
    CliRun.Run r = CliRun.run("train", "--task", "orpo", "--max_steps", "2", "--synthetic_train_pairs", "200", "--synthetic_eval_pairs", "20",
        "--output_dir", out.toString());
    assertEquals(0, r.code(), r.err());
    assertFalse(Files.exists(out.resolve("ref_logps_train.json")), "orpo needs no reference");
    JsonNode train = records(out.resolve("metrics.jsonl")).stream().filter(n -> n.get("record").asText().equals("train"))
        .findFirst().orElseThrow();
    assertTrue(train.has("nll_loss") && train.has("log_odds_ratio") && train.has("log_odds_chosen"), train.toString());

    CliRun.Run again = CliRun.run("train", "--task", "orpo", "--max_steps", "2", "--output_dir", out.toString());
    assertEquals(1, again.code());
    assertTrue(again.err().contains("already holds a run"), again.err());
    CliRun.Run resume = CliRun.run("train", "--task", "orpo", "--resume", "--output_dir", out.toString());
    assertNotEquals(0, resume.code());
  }

  @Test
  void badPreferenceOptionsAreUsageErrors() {
    CliRun.Run r = CliRun.run("train", "--task", "dpo", "--beta", "0", "--output_dir", "/nonexistent/never");
    assertEquals(2, r.code());
    assertTrue(r.err().contains("--beta") && r.err().contains("must be > 0"), r.err());
    r = CliRun.run("train", "--task", "sft");
    assertEquals(2, r.code());
    assertTrue(r.err().contains("--task"), r.err());
    r = CliRun.run("train", "--task", "dpo", "--use_peft", "--model_name_or_path", "rewardkit-core/src/test/resources/trl/policy",
        "--dataset", "examples/rewardbench-sample.jsonl", "--output_dir", "/nonexistent/never");
    assertEquals(2, r.code());
    assertTrue(r.err().contains("--use_peft is not available for --task dpo"), "out: " + r.out() + " err: " + r.err());
  }
}
