package io.rewardkit.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.cli.RewardKitCli;
import io.rewardkit.train.Checkpoints;
import io.rewardkit.train.MetricsLog;
import io.rewardkit.train.SyntheticTask;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded default run, shortened, through the CLI: it must learn the synthetic task; eval on
 * the saved checkpoint must reproduce the run's final eval metrics exactly; score must rank.
 */
class EndToEndTest {
  @TempDir Path tmp;
  static final ObjectMapper JSON = new ObjectMapper();

  @Test void defaultRunLearnsAndCheckpointReproducesEval() throws Exception {
    Path out = tmp.resolve("run");
    int rc = RewardKitCli.run("train", "--output_dir", out.toString(), "--synthetic_train_pairs", "12000",
        "--synthetic_eval_pairs", "200", "--save_steps", "0", "--eval_steps", "0", "--report", "false");
    assertEquals(0, rc);
    List<Map<String, Object>> rows = MetricsLog.read(out.resolve("metrics.jsonl"));
    Map<String, Object> lastEval = rows.stream().filter(r -> r.containsKey("eval_accuracy")).reduce((a, b) -> b).orElseThrow();
    double acc = ((Number) lastEval.get("eval_accuracy")).doubleValue();
    assertTrue(acc >= SHORT_MIN_ACCURACY, "the shortened default run should learn the task: eval accuracy " + acc);

    // The same eval pairs as a file, evaluated on the saved checkpoint: identical metrics.
    Path pairs = tmp.resolve("eval.jsonl");
    List<String> lines = new ArrayList<>();
    for (SyntheticTask.Example e : SyntheticTask.generate(200, 42 + 1_000_003)) {
      lines.add(JSON.writeValueAsString(Map.of("prompt", e.prompt(), "chosen", e.chosen(), "rejected", e.rejected())));
    }
    Files.write(pairs, lines, StandardCharsets.UTF_8);
    Path metrics = tmp.resolve("eval.json");
    Path ckpt = Checkpoints.latest(out).orElseThrow();
    assertEquals(0, RewardKitCli.run("eval", "--model", ckpt.toString(), "--dataset", pairs.toString(),
        "--output_json", metrics.toString()));
    JsonNode m = JSON.readTree(metrics.toFile());
    for (String k : List.of("eval_loss", "eval_accuracy", "eval_margin", "eval_min_reward", "eval_mean_reward", "eval_max_reward")) {
      assertEquals(((Number) lastEval.get(k)).doubleValue(), m.get(k).asDouble(), 0.0, k);
    }
    assertEquals(200, m.get("eval_pairs").asInt());
    assertTrue(m.has("length_baseline_accuracy") && m.get("length_buckets").size() >= 1);
    // lengths are equal by construction, so the length-only baseline is exactly chance
    assertEquals(0.5, m.get("length_baseline_accuracy").asDouble(), 0.0);

    // The same pairs as RewardBench rows. The benchmark presents each response as [user: prompt, assistant:
    // response] through the tokenizer's chat template (the byte tokenizer has ChatML), so its accuracy must equal
    // the plain eval of the same pairs written as message lists (no reward ties in a trained model), in both versions.
    List<String> rb = new ArrayList<>(), rb2 = new ArrayList<>(), chat = new ArrayList<>();
    int id = 0;
    for (SyntheticTask.Example e : SyntheticTask.generate(200, 42 + 1_000_003)) {
      rb.add(JSON.writeValueAsString(Map.of("prompt", e.prompt(), "chosen", e.chosen(), "rejected", e.rejected(),
          "subset", "alpacaeval-easy", "id", id)));
      rb2.add(JSON.writeValueAsString(Map.of("prompt", e.prompt(), "chosen", List.of(e.chosen()), "rejected", List.of(e.rejected()),
          "num_correct", 1, "subset", "Focus", "id", String.valueOf(id++))));
      chat.add(JSON.writeValueAsString(Map.of("prompt", List.of(Map.of("role", "user", "content", e.prompt())),
          "chosen", List.of(Map.of("role", "assistant", "content", e.chosen())),
          "rejected", List.of(Map.of("role", "assistant", "content", e.rejected())))));
    }
    Path rbFile = tmp.resolve("rb.jsonl"), rb2File = tmp.resolve("rb2.jsonl"), chatFile = tmp.resolve("chat.jsonl");
    Path rbJson = tmp.resolve("rb.json"), rb2Json = tmp.resolve("rb2.json"), chatJson = tmp.resolve("chat.json");
    Files.write(rbFile, rb, StandardCharsets.UTF_8);
    Files.write(rb2File, rb2, StandardCharsets.UTF_8);
    Files.write(chatFile, chat, StandardCharsets.UTF_8);
    assertEquals(0, RewardKitCli.run("eval", "--model", ckpt.toString(), "--dataset", chatFile.toString(), "--output_json", chatJson.toString()));
    assertEquals(0, RewardKitCli.run("eval", "--model", ckpt.toString(), "--benchmark", "rewardbench", "--dataset", rbFile.toString(),
        "--output_json", rbJson.toString()));
    assertEquals(0, RewardKitCli.run("eval", "--model", ckpt.toString(), "--benchmark", "rewardbench2", "--dataset", rb2File.toString(),
        "--output_json", rb2Json.toString()));
    double chatAcc = JSON.readTree(chatJson.toFile()).get("eval_accuracy").asDouble();
    JsonNode b1 = JSON.readTree(rbJson.toFile()), b2 = JSON.readTree(rb2Json.toFile());
    assertEquals(chatAcc, b1.at("/subsets/alpacaeval-easy/score").asDouble(), 1e-9);
    assertEquals(chatAcc, b1.at("/sections/Chat/score").asDouble(), 1e-9);
    assertEquals(chatAcc, b2.at("/subsets/Focus/score").asDouble(), 1e-9);
    assertEquals(200, b2.at("/subsets/Focus/n").asInt());
    assertTrue(b1.get("chat_template").asText().startsWith("chat template"), b1.toString());

    // Score: best-of-n picks the exact copy in most prompts.
    Path in = tmp.resolve("score.jsonl"), res = tmp.resolve("scores.jsonl");
    List<String> q = new ArrayList<>();
    List<SyntheticTask.Example> ex = SyntheticTask.generate(40, 5);
    for (SyntheticTask.Example e : ex) {
      q.add(JSON.writeValueAsString(Map.of("prompt", e.prompt(), "responses", List.of(e.rejected(), e.chosen()))));
    }
    Files.write(in, q, StandardCharsets.UTF_8);
    assertEquals(0, RewardKitCli.run("score", "--model", out.toString(), "--input", in.toString(), "--output",
        res.toString(), "--best_of_n"));
    List<String> outLines = Files.readAllLines(res);
    assertEquals(40, outLines.size());
    int right = 0;
    for (String l : outLines) {
      JsonNode n = JSON.readTree(l);
      assertEquals(2, n.get("rewards").size());
      if (n.get("best_index").asInt() == 1) right++;
    }
    assertTrue(right >= 28, "best-of-n picked the copy in " + right + "/40");
  }

  /** Chance is 0.5; the full default run reaches >= 0.95, this half-length run well above chance. */
  static final double SHORT_MIN_ACCURACY = 0.8;
}
