package io.rewardkit.cli;

import static io.rewardkit.cli.PolicyTrainCliTest.records;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.model.lora.PeftAdapter;
import io.rewardkit.model.safetensors.SafetensorsFile;
import io.rewardkit.policy.PolicyTrainer;
import io.rewardkit.train.Checkpoints;
import io.rewardkit.train.SyntheticTask;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code rewardkit train --task ... --use_peft}: LoRA policies end to end (byte tokenizer, tiny random Qwen2 base). */
class PolicyLoraCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Set<String> names(Path dir) throws Exception {
    Set<String> out = new TreeSet<>();
    try (var s = Files.list(dir)) {
      s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).forEach(out::add);  // not the run's lock
    }
    return out;
  }

  /** The embedded copy task as a JSONL file (a model's run needs --dataset). */
  private static Path syntheticPairs(Path tmp, int n) throws Exception {
    List<String> lines = new ArrayList<>();
    for (SyntheticTask.Example e : SyntheticTask.generate(n, 1)) {
      lines.add(JSON.writeValueAsString(Map.of("prompt", e.prompt(), "chosen", e.chosen(), "rejected", e.rejected())));
    }
    Path f = tmp.resolve("copy.jsonl");
    Files.write(f, lines);
    return f;
  }

  /**
   * DPO with LoRA learns the copy task with the base frozen: held-out preference accuracy by implicit reward well
   * above chance, the base's files byte for byte as before, final/ and the kept checkpoint a PEFT CAUSAL_LM adapter
   * (no full model, no lm_head optimizer state), that export --merge turns into a *ForCausalLM and that eval refuses.
   */
  @Test
  void dpoLoraLearnsWithTheBaseFrozenAndWritesACausalLmAdapter(@TempDir Path tmp) throws Exception {
    Path base = PolicyTrainCliTest.byteModel(tmp, "7");
    byte[] baseWeights = Files.readAllBytes(base.resolve("model.safetensors")), baseConfig = Files.readAllBytes(base.resolve("config.json"));
    Path out = tmp.resolve("dpo");
    CliRun.Run r = CliRun.run("train", "--task", "dpo", "--use_peft", "--lora_r", "8", "--model_name_or_path", base.toString(),
        "--tokenizer", "byte", "--dataset", syntheticPairs(tmp, 2200).toString(), "--eval_split", "0.1", "--max_steps", "24",
        "--logging_steps", "8", "--save_steps", "8", "--save_total_limit", "1", "--learning_rate", "1e-2", "--report", "false",
        "--output_dir", out.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("lora: r 8, alpha 32, scaling 4") && r.out().contains("the base and the LM head (untied) are frozen"), r.out());
    assertArrayEquals(baseWeights, Files.readAllBytes(base.resolve("model.safetensors")), "the base is not written");
    assertArrayEquals(baseConfig, Files.readAllBytes(base.resolve("config.json")));

    JsonNode eval = records(out.resolve("metrics.jsonl")).stream().filter(n -> n.get("record").asText().equals("eval"))
        .reduce((a, b) -> b).orElseThrow();
    assertTrue(eval.get("eval_rewards/accuracies").asDouble() > 0.6 && eval.get("eval_binomial_p").asDouble() < 1e-3, eval.toString());
    JsonNode start = records(out.resolve("metrics.jsonl")).get(0);
    assertEquals(8, start.get("model").get("lora").get("r").asInt(), start.toString());

    assertEquals(Set.of(PeftAdapter.CONFIG, PeftAdapter.WEIGHTS, "checksums.json"), names(out.resolve("final")));
    assertEquals(Set.of("checkpoint-24", "final", "metrics.jsonl", "ref_logps_eval.json", "ref_logps_train.json"), names(out));
    assertEquals(Set.of(PeftAdapter.CONFIG, PeftAdapter.WEIGHTS, "checksums.json", Checkpoints.OPTIMIZER, Checkpoints.TRAINER_STATE,
        PolicyTrainer.REF_TRAIN, PolicyTrainer.REF_EVAL), names(out.resolve("checkpoint-24")));
    JsonNode cfg = JSON.readTree(out.resolve("final").resolve(PeftAdapter.CONFIG).toFile());
    assertEquals("CAUSAL_LM", cfg.get("task_type").asText());
    assertEquals(base.toAbsolutePath().normalize().toString(), cfg.get("base_model_name_or_path").asText());
    try (SafetensorsFile f = SafetensorsFile.open(out.resolve("final").resolve(PeftAdapter.WEIGHTS))) {
      assertEquals(2 * 7 * 2, f.entries().size(), f.entries().keySet().toString());  // A, B x 7 modules x 2 layers
      float[] b = f.readFloats("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight");
      double norm = 0;
      for (float x : b) norm += x * x;
      assertTrue(norm > 0, "lora_B trained away from its zero init");
    }

    Path merged = tmp.resolve("merged");
    CliRun.Run ex = CliRun.run("export", "--model", out.resolve("final").toString(), "--merge", "--output_dir", merged.toString());
    assertEquals(0, ex.code(), ex.err());
    assertTrue(ex.out().contains("full Qwen2ForCausalLM checkpoint"), ex.out());
    assertEquals("Qwen2ForCausalLM", JSON.readTree(merged.resolve("config.json").toFile()).get("architectures").get(0).asText());

    CliRun.Run ev = CliRun.run("eval", "--model", out.resolve("final").toString(), "--dataset", "examples/rewardbench-sample.jsonl");
    assertEquals(1, ev.code(), ev.out());
    assertTrue(ev.err().contains("field 'task_type': must be SEQ_CLS"), ev.err());
  }

  /** PolicyTrainCliTest's resumable run (7 steps, checkpoints every 2, an eval every 3) with LoRA on {@code base}. */
  private static String[] loraRun(Path base, Path out, String... extra) {
    List<String> a = new ArrayList<>(List.of("train", "--task", "dpo", "--model_name_or_path", base.toString(), "--use_peft",
        "--lora_r", "4", "--tokenizer", "byte", "--dataset", "examples/rewardbench-sample.jsonl", "--eval_split", "0.2",
        "--max_length", "256", "--truncation", "prompt_left", "--on_bad_record", "skip", "--max_tokens_per_batch", "1024",
        "--learning_rate", "1e-2", "--max_steps", "7", "--logging_steps", "2", "--eval_steps", "3", "--save_steps", "2",
        "--save_total_limit", "0", "--report", "false", "--output_dir", out.toString()));
    a.addAll(List.of(extra));
    return a.toArray(String[]::new);
  }

  /**
   * Stopped after step 5 (last checkpoint at 4) and resumed: the same adapter, byte for byte, and the same metrics
   * (wall clock aside) as a run never stopped, the reference read from the checkpoint.
   */
  @Test
  void resumeAfterAStopEqualsAnUninterruptedRun(@TempDir Path tmp) throws Exception {
    Path base = PolicyTrainCliTest.byteModel(tmp, "7");
    Path a = tmp.resolve("a"), b = tmp.resolve("b");
    CliRun.Run ra = CliRun.run(loraRun(base, a));
    assertEquals(0, ra.code(), ra.err());
    CliRun.Run rb = PolicyTrainCliTest.crashingAfter(5, loraRun(base, b));
    assertEquals(1, rb.code(), rb.out());
    assertTrue(Files.isRegularFile(b.resolve("checkpoint-4").resolve(PeftAdapter.WEIGHTS)) && !Files.exists(b.resolve("checkpoint-6")));
    CliRun.Run resumed = CliRun.run(loraRun(base, b, "--resume"));
    assertEquals(0, resumed.code(), resumed.err());
    assertTrue(resumed.out().contains("at step 4") && resumed.out().contains("read from checkpoint-4 (not recomputed)"), resumed.out());
    byte[] fa = Files.readAllBytes(a.resolve("final").resolve(PeftAdapter.WEIGHTS));
    assertArrayEquals(fa, Files.readAllBytes(b.resolve("final").resolve(PeftAdapter.WEIGHTS)));
    assertEquals(PolicyTrainCliTest.deterministic(a.resolve("metrics.jsonl")), PolicyTrainCliTest.deterministic(b.resolve("metrics.jsonl")));

    // a full-model resume of a LoRA checkpoint is refused, naming the option
    List<String> full = new ArrayList<>(List.of(loraRun(base, tmp.resolve("c"), "--resume", b.resolve("checkpoint-4").toString())));
    full.add(full.indexOf("--use_peft") + 1, "false");
    CliRun.Run mixed = CliRun.run(full.toArray(String[]::new));
    assertEquals(1, mixed.code(), mixed.out());
    assertTrue(mixed.err().contains("use_peft"), mixed.err());
  }

  @Test
  void usePeftNeedsABaseOnDisk() {
    CliRun.Run r = CliRun.run("train", "--task", "dpo", "--use_peft", "--output_dir", "/nonexistent/never");
    assertEquals(2, r.code(), r.out());
    assertTrue(r.err().contains("--use_peft") && r.err().contains("--model_name_or_path"), r.err());
  }
}
