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

  static List<JsonNode> records(Path metrics) throws Exception {
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
  void referenceFreeTaskWritesNoReference(@TempDir Path tmp) throws Exception {
    Path out = tmp.resolve("orpo");
    CliRun.Run r = CliRun.run("train", "--task", "orpo", "--max_steps", "2", "--synthetic_train_pairs", "200", "--synthetic_eval_pairs", "20",
        "--output_dir", out.toString());
    assertEquals(0, r.code(), r.err());
    assertFalse(Files.exists(out.resolve("ref_logps_train.json")), "orpo needs no reference");
    assertFalse(Files.exists(out.resolve("checkpoint-2/ref_logps_train.json")), "orpo needs no reference");
    JsonNode train = records(out.resolve("metrics.jsonl")).stream().filter(n -> n.get("record").asText().equals("train"))
        .findFirst().orElseThrow();
    assertTrue(train.has("nll_loss") && train.has("log_odds_ratio") && train.has("log_odds_chosen"), train.toString());

    CliRun.Run again = CliRun.run("train", "--task", "orpo", "--max_steps", "2", "--output_dir", out.toString());
    assertEquals(1, again.code());
    assertTrue(again.err().contains("already holds a run"), again.err());
  }

  /** A run's metrics without wall-clock fields and without run_start records (which say how the run was started). */
  static List<JsonNode> deterministic(Path metrics) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode n : records(metrics)) {
      if (n.get("record").asText().equals("run_start")) continue;
      com.fasterxml.jackson.databind.node.ObjectNode o = (com.fasterxml.jackson.databind.node.ObjectNode) n.deepCopy();
      o.remove(io.rewardkit.report.MetricsRecords.WALL_CLOCK);
      if (o.get("final") instanceof com.fasterxml.jackson.databind.node.ObjectNode f) {
        for (JsonNode part : f) ((com.fasterxml.jackson.databind.node.ObjectNode) part).remove(io.rewardkit.report.MetricsRecords.WALL_CLOCK);
      }
      out.add(o);
    }
    return out;
  }

  static CliRun.Run crashingAfter(long step, String... args) {
    System.setProperty("rewardkit.test.crashAfterStep", Long.toString(step));
    try {
      return CliRun.run(args);
    } finally {
      System.clearProperty("rewardkit.test.crashAfterStep");
    }
  }

  static String[] policyRun(String task, Path out, String... extra) {
    List<String> a = new ArrayList<>(List.of("train", "--task", task, "--init_config", "examples/qwen2-byte-policy-config.json",
        "--tokenizer", "byte", "--dataset", "examples/rewardbench-sample.jsonl", "--eval_split", "0.2", "--max_length", "256",
        "--truncation", "prompt_left", "--on_bad_record", "skip", "--max_tokens_per_batch", "1024", "--learning_rate", "1e-3",
        "--max_steps", "7", "--logging_steps", "2", "--eval_steps", "3", "--save_steps", "2", "--save_total_limit", "0",
        "--output_dir", out.toString()));
    a.addAll(List.of(extra));
    return a.toArray(String[]::new);
  }

  /**
   * Stopped after step 5 (last checkpoint at 4) and resumed: the same final weights, byte for byte, and the same
   * metrics (wall clock aside) as a run never stopped; the reference log-probs are read from the checkpoint, not
   * recomputed. An untied lm_head (its own optimizer arena) and an eval in the lost steps are part of it.
   */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"dpo", "kto"})
  void resumeAfterAStopEqualsAnUninterruptedRun(String task, @TempDir Path tmp) throws Exception {
    Path a = tmp.resolve("a"), b = tmp.resolve("b");
    CliRun.Run ra = CliRun.run(policyRun(task, a));
    assertEquals(0, ra.code(), ra.err());
    if (task.equals("kto")) {
      // TRL's batch KL estimate: the reference's side of every step's (and eval bin's) mismatched rows is stored
      JsonNode ref = new ObjectMapper().readTree(a.resolve("ref_logps_train.json").toFile());
      assertEquals(7, ref.get("kl_logps").size(), "one KL row set per optimizer step");
      assertTrue(new ObjectMapper().readTree(a.resolve("ref_logps_eval.json").toFile()).has("kl_logps"));
      List<JsonNode> trains = records(a.resolve("metrics.jsonl")).stream().filter(n -> n.get("record").asText().equals("train")).toList();
      for (JsonNode t : trains) assertTrue(t.has("kl") && t.get("kl").asDouble() >= 0, t.toString());
      assertTrue(trains.stream().anyMatch(t -> t.get("kl").asDouble() > 0), "the policy moved away from the reference: " + trains);
    }
    CliRun.Run rb = crashingAfter(5, policyRun(task, b));
    assertEquals(1, rb.code(), rb.out());
    assertTrue(Files.isDirectory(b.resolve("checkpoint-4")) && !Files.exists(b.resolve("checkpoint-6")));
    assertTrue(Files.isRegularFile(b.resolve("checkpoint-4/ref_logps_train.json")));
    assertTrue(Files.isRegularFile(b.resolve("checkpoint-4/" + io.rewardkit.policy.PolicyTrainer.HEAD_OPTIMIZER)));
    CliRun.Run resumed = CliRun.run(policyRun(task, b, "--resume"));
    assertEquals(0, resumed.code(), resumed.err());
    assertTrue(resumed.out().contains("resumed from") && resumed.out().contains("at step 4"), resumed.out());
    assertTrue(resumed.out().contains("read from checkpoint-4 (not recomputed)"), resumed.out());
    assertArrayEquals(Files.readAllBytes(a.resolve("final/model.safetensors")), Files.readAllBytes(b.resolve("final/model.safetensors")));
    assertEquals(deterministic(a.resolve("metrics.jsonl")), deterministic(b.resolve("metrics.jsonl")));
    assertEquals(2, records(b.resolve("metrics.jsonl")).stream().filter(n -> n.get("record").asText().equals("run_start")).count());
    JsonNode eval = records(a.resolve("metrics.jsonl")).stream().filter(n -> n.get("record").asText().equals("eval"))
        .reduce((x, y) -> y).orElseThrow();
    for (String k : List.of("eval_loss", "eval_rewards/chosen", "eval_rewards/rejected", "eval_logps/chosen",
        "eval_logps/rejected", "eval_logps/margins")) {
      assertTrue(eval.has(k), "eval record lacks " + k + ": " + eval);
    }
    if (task.equals("dpo")) {
      for (String k : List.of("eval_rewards/accuracies", "eval_rewards/margins", "eval_binomial_p")) assertTrue(eval.has(k), k + ": " + eval);
    }
    assertEquals(eval.get("eval_logps/chosen").asDouble() - eval.get("eval_logps/rejected").asDouble(),
        eval.get("eval_logps/margins").asDouble(), 1e-9);
    assertTrue(Files.isRegularFile(a.resolve("report/index.html")) && Files.isRegularFile(a.resolve("report/accuracy.png")));
    String html = Files.readString(a.resolve("report/index.html"));
    assertTrue(html.contains("eval_loss") && html.contains("eval_logps/margins") && html.contains("--task " + task), html.substring(0, Math.min(400, html.length())));
  }

  /** Resume refuses other data, and a checkpoint whose stored reference log-probs were altered. */
  @Test
  void resumeRefusesOtherDataAndAlteredReferenceLogps(@TempDir Path tmp) throws Exception {
    Path b = tmp.resolve("b");
    assertEquals(1, crashingAfter(3, policyRun("dpo", b)).code());
    String[] otherSplit = policyRun("dpo", b, "--resume");
    otherSplit[List.of(otherSplit).indexOf("--eval_split") + 1] = "0.3";
    CliRun.Run other = CliRun.run(otherSplit);
    assertEquals(1, other.code(), other.err());
    assertTrue(other.err().contains("--eval_split 0.2 -> 0.3"), other.err());
    Path ref = b.resolve("checkpoint-2/ref_logps_train.json");
    ref.toFile().setWritable(true);
    Files.writeString(ref, Files.readString(ref).replaceFirst("\\[-", "[-1"));
    CliRun.Run altered = CliRun.run(policyRun("dpo", b, "--resume", b.resolve("checkpoint-2").toString()));
    assertEquals(1, altered.code());
    assertTrue(altered.err().contains("damaged") && altered.err().contains("ref_logps_train.json"), altered.err());
  }

  /** An HF causal LM for the byte tokenizer (random init of the example config, seed given), to serve as a reference. */
  static Path byteModel(Path tmp, String seed) {
    Path out = tmp.resolve("model-" + seed);
    CliRun.Run r = CliRun.run("train", "--task", "orpo", "--init_config", "examples/qwen2-byte-policy-config.json", "--tokenizer", "byte",
        "--dataset", "examples/rewardbench-sample.jsonl", "--max_steps", "1", "--seed", seed, "--report", "false",
        "--output_dir", out.toString());
    assertEquals(0, r.code(), r.err());
    return out.resolve("final");
  }

  /**
   * prepare --ref_model stores the reference's log-probs in the cache; train on the cache uses them without loading
   * the reference, equal to what the run computes itself from --ref_model; another --ref_model is refused.
   */
  @Test
  void prepareRefModelRoundTripAndMismatchRefusal(@TempDir Path tmp) throws Exception {
    Path ref = byteModel(tmp, "7"), other = byteModel(tmp, "8");
    List<String> data = List.of("--tokenizer", "byte", "--max_length", "256", "--truncation", "prompt_left",
        "--on_bad_record", "skip", "--max_tokens_per_batch", "1024");
    Path cache = tmp.resolve("cache");
    List<String> prep = new ArrayList<>(List.of("prepare", "--dataset", "examples/rewardbench-sample.jsonl", "--ref_model",
        ref.toString(), "--output_dir", cache.toString()));
    prep.addAll(data);
    CliRun.Run p = CliRun.run(prep.toArray(String[]::new));
    assertEquals(0, p.code(), p.err());
    assertTrue(p.out().contains("reference log-probs of") && Files.isRegularFile(cache.resolve("ref_logps.json")), p.out());

    List<String> common = List.of("train", "--task", "dpo", "--init_config", "examples/qwen2-byte-policy-config.json",
        "--eval_split", "0.25", "--max_steps", "2", "--report", "false");
    List<String> fromCache = new ArrayList<>(common);
    fromCache.addAll(List.of("--dataset", cache.toString(), "--output_dir", tmp.resolve("c").toString()));
    CliRun.Run rc = CliRun.run(fromCache.toArray(String[]::new));
    assertEquals(0, rc.code(), rc.err());
    assertTrue(rc.out().contains("from the prepared cache") && !rc.out().contains("(reference closed)"), rc.out());

    List<String> direct = new ArrayList<>(common);
    direct.addAll(data);
    direct.addAll(List.of("--dataset", "examples/rewardbench-sample.jsonl", "--ref_model", ref.toString(), "--output_dir",
        tmp.resolve("d").toString()));
    CliRun.Run rd = CliRun.run(direct.toArray(String[]::new));
    assertEquals(0, rd.code(), rd.err());
    assertTrue(rd.out().contains("(reference closed)"), rd.out());
    for (String f : List.of("ref_logps_train.json", "ref_logps_eval.json")) {
      JsonNode a = new ObjectMapper().readTree(tmp.resolve("c").resolve(f).toFile());
      JsonNode b = new ObjectMapper().readTree(tmp.resolve("d").resolve(f).toFile());
      assertEquals(a.get("dataset_fingerprint"), b.get("dataset_fingerprint"), f);
      for (String k : List.of("chosen_logps", "rejected_logps")) {
        assertEquals(b.get(k).size(), a.get(k).size(), f + " " + k);
        assertTrue(a.get(k).size() > 0);
        for (int i = 0; i < a.get(k).size(); i++) {
          double x = a.get(k).get(i).asDouble(), y = b.get(k).get(i).asDouble();
          assertEquals(y, x, 1e-4 * Math.max(1, Math.abs(y)), f + " " + k + "[" + i + "]");
        }
      }
    }

    List<String> mismatch = new ArrayList<>(common);
    mismatch.addAll(List.of("--dataset", cache.toString(), "--ref_model", other.toString(), "--output_dir", tmp.resolve("m").toString()));
    CliRun.Run rm = CliRun.run(mismatch.toArray(String[]::new));
    assertEquals(2, rm.code(), rm.out() + rm.err());
    assertTrue(rm.err().contains("--ref_model") && rm.err().contains("is not the reference"), rm.err());
    List<String> same = new ArrayList<>(common);
    same.addAll(List.of("--dataset", cache.toString(), "--ref_model", ref.toString(), "--output_dir", tmp.resolve("s").toString()));
    CliRun.Run rs = CliRun.run(same.toArray(String[]::new));
    assertEquals(0, rs.code(), rs.err());
    assertTrue(rs.out().contains("from the prepared cache"), rs.out());
  }

  @Test
  void saveTotalLimitKeepsTheNewestCheckpoints(@TempDir Path tmp) throws Exception {
    Path out = tmp.resolve("cpo");
    CliRun.Run r = CliRun.run("train", "--task", "cpo", "--max_steps", "5", "--save_steps", "1", "--save_total_limit", "2",
        "--synthetic_train_pairs", "200", "--synthetic_eval_pairs", "20", "--output_dir", out.toString());
    assertEquals(0, r.code(), r.err());
    List<String> ckpts = new ArrayList<>();
    try (var s = Files.list(out)) {
      s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("checkpoint-")).sorted().forEach(ckpts::add);
    }
    assertEquals(List.of("checkpoint-4", "checkpoint-5"), ckpts);
    assertTrue(Files.isRegularFile(out.resolve("checkpoint-5/config.json")) && Files.isRegularFile(out.resolve("checkpoint-5/trainer_state.json")));
    // resuming a finished run at its end: nothing to train, the same final model
    byte[] before = Files.readAllBytes(out.resolve("final/model.safetensors"));
    CliRun.Run again = CliRun.run("train", "--task", "cpo", "--max_steps", "5", "--save_steps", "1", "--save_total_limit", "2",
        "--synthetic_train_pairs", "200", "--synthetic_eval_pairs", "20", "--output_dir", out.toString(), "--resume");
    assertEquals(0, again.code(), again.err());
    assertArrayEquals(before, Files.readAllBytes(out.resolve("final/model.safetensors")));
  }

  @Test
  void badPreferenceOptionsAreUsageErrors() {
    CliRun.Run r = CliRun.run("train", "--task", "dpo", "--beta", "0", "--output_dir", "/nonexistent/never");
    assertEquals(2, r.code());
    assertTrue(r.err().contains("--beta") && r.err().contains("must be > 0"), r.err());
    r = CliRun.run("train", "--task", "sft");
    assertEquals(2, r.code());
    assertTrue(r.err().contains("--task"), r.err());
  }
}
