package io.rewardkit.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.cli.RewardKitCli;
import io.rewardkit.data.DataOptions;
import io.rewardkit.data.Tokenizer;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.model.RewardModel;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exact resume with the real model (the embedded default's tiny Llama, shared-prefix batches,
 * gradient accumulation): after an in-process crash, and after kill -9 of a CLI run in the middle
 * of a save, the resumed run's metrics.jsonl and final weights equal an uninterrupted run's.
 */
class RealModelResumeTest {
  @TempDir Path tmp;

  static final String[] ARGS = {"--synthetic_train_pairs", "1200", "--synthetic_eval_pairs", "100",
      "--gradient_accumulation_steps", "2", "--logging_steps", "3", "--eval_steps", "5", "--save_steps", "5",
      "--save_total_limit", "2", "--report", "false"};

  static TrainConfig config(Path out) {
    TrainConfig c = RunSetup.embeddedDefaults();
    c.outputDir = out.toString();
    c.syntheticTrainPairs = 1200;
    c.syntheticEvalPairs = 100;
    c.gradientAccumulationSteps = 2;
    c.loggingSteps = 3;
    c.evalSteps = 5;
    c.saveSteps = 5;
    c.saveTotalLimit = 2;
    c.report = false;
    return c;
  }

  static Trainer.Result run(TrainConfig c, Trainer.StepListener listener) throws IOException {
    CpuBackend be = new CpuBackend();
    RunSetup.applyThreads(c, be);  // the embedded default's 1 thread, as the CLI runs use
    Tokenizer tok = RunSetup.tokenizer(c);
    DataOptions o = RunSetup.dataOptions(c);
    RunSetup.Data d = RunSetup.data(c, tok, o);
    try (RewardModel m = RunSetup.model(c, tok, be)) {
      return new Trainer(c, new ModelAdapter(m), RunSetup.source(d.train(), d.trainNames()),
          RunSetup.source(d.eval(), d.evalNames()), RunSetup.content(c, tok, o, d.train()),
          new PrintStream(OutputStream.nullOutputStream())).terminal(false).onStep(listener)
          .describe(RunSetup.describe(c, m, tok, d)).train();  // as `rewardkit train` does
    }
  }

  @Test void crashAndKillResumeMatchUninterruptedRun() throws Exception {
    Path a = tmp.resolve("a"), b = tmp.resolve("b"), k = tmp.resolve("k");
    Trainer.Result ra = run(config(a), (s, m) -> {});
    assertTrue(ra.globalStep() >= 12, "steps " + ra.globalStep());

    // in-process crash after step 7 (checkpoint-5 exists), then --resume latest
    TrainConfig cb = config(b);
    assertThrows(IllegalStateException.class, () -> run(cb, (s, m) -> {
      if (s == 7) throw new IllegalStateException("simulated crash");
    }));
    cb.resume = "latest";
    run(cb, (s, m) -> {});
    TrainerTest.assertSameRun(a, b);
    assertArrayEquals(Files.readAllBytes(a.resolve("final/model.safetensors")), Files.readAllBytes(b.resolve("final/model.safetensors")));

    // kill -9 of `rewardkit train` while it writes checkpoint-10, then `rewardkit train --resume`
    Process p = child(k, "-Drewardkit.test.saveDelayMs=1500");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!ChildJvm.hasEntry(k, ".tmp-checkpoint-10")) {
      assertTrue(p.isAlive(), "child exited early: " + log(k));
      assertTrue(System.nanoTime() < deadline, "timed out waiting for the save");
      Thread.sleep(5);
    }
    p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    assertEquals(5, Checkpoints.stepOf(Checkpoints.latest(k).orElseThrow()));
    List<String> resume = new ArrayList<>(List.of(ARGS));
    resume.addAll(List.of("--output_dir", k.toString(), "--resume"));
    assertEquals(0, RewardKitCli.run(prepend("train", resume)));
    TrainerTest.assertSameRun(a, k);
    assertArrayEquals(Files.readAllBytes(a.resolve("final/model.safetensors")), Files.readAllBytes(k.resolve("final/model.safetensors")));
  }

  private static String[] prepend(String first, List<String> rest) {
    List<String> all = new ArrayList<>();
    all.add(first);
    all.addAll(rest);
    return all.toArray(String[]::new);
  }

  private static String log(Path out) {
    return ChildJvm.readOrEmpty(out.resolveSibling("child.log"));
  }

  private static Process child(Path out, String prop) throws IOException {
    List<String> args = new ArrayList<>(List.of("train"));
    args.addAll(List.of(ARGS));
    args.addAll(List.of("--output_dir", out.toString()));
    return ChildJvm.start(RewardKitCli.class, List.of(prop), args, out.resolveSibling("child.log"));
  }
}
