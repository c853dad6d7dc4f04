package io.rewardkit.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.RewardKitException;
import io.rewardkit.report.MetricsRecords;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run's identity and integrity on the tiny bag-of-tokens trainer: the output-directory lock,
 * refusing to start over a run, the staged overwrite, what --resume may change, self-verifying
 * checkpoints with fallback, cleanup of what killed or failed runs leave, whole metrics lines.
 */
class RunIntegrityTest {
  @TempDir Path tmp;

  private final ByteArrayOutputStream console = new ByteArrayOutputStream();

  private Trainer trainer(TrainConfig cfg, BagModel model) {
    return new Trainer(cfg, model, new ToyPairs(240, 6, cfg.seed, 1), new ToyPairs(60, 16, cfg.seed + 1, 2),
        CheckpointContent.none(), new PrintStream(console, true, StandardCharsets.UTF_8)).terminal(false);
  }

  private String console() { return console.toString(StandardCharsets.UTF_8); }

  private static Trainer.StepListener crashAt(long step) {
    return (s, m) -> {
      if (s == step) throw new IllegalStateException("simulated crash");
    };
  }

  private static List<String> entries(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test void secondWriterIsRefusedNamingTheHolder() throws Exception {
    Path out = tmp.resolve("run");
    try (RunDirectory held = RunDirectory.acquire(out)) {
      // another process
      Path log = tmp.resolve("child.log");
      Process p = ChildJvm.start(TrainChildMain.class, List.of(), List.of(out.toString()), log);
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      assertEquals(1, p.exitValue());
      String text = ChildJvm.readOrEmpty(log);
      assertTrue(text.contains("is in use by another training run (pid " + ProcessHandle.current().pid() + ")"), text);
      // and a second Trainer in this process
      TrainConfig c = TrainerTest.config(out.toString());
      var e = assertThrows(RewardKitException.class, () -> trainer(c, TrainerTest.model(c)).train());
      assertTrue(e.getMessage().contains("in use by another training run"), e.getMessage());
      assertEquals(List.of(RunDirectory.LOCK), entries(out), "the refused writers wrote nothing");
    }
    // released: a run can start now, and the lock names this process while it runs
    TrainConfig c = TrainerTest.config(out.toString());
    c.numTrainEpochs = 1;
    trainer(c, TrainerTest.model(c)).onStep((s, m) -> {
      try {
        assertEquals(Long.toString(ProcessHandle.current().pid()), Files.readString(out.resolve(RunDirectory.LOCK)).trim());
      } catch (IOException x) {
        throw new AssertionError(x);
      }
    }).train();
  }

  @Test void startingOverARunIsRefusedAndOverwriteIsAtomic() throws Exception {
    Path out = tmp.resolve("run"), ref = tmp.resolve("ref");
    TrainConfig old = TrainerTest.config(out.toString());
    old.numTrainEpochs = 1;
    trainer(old, TrainerTest.model(old)).train();
    byte[] oldMetrics = Files.readAllBytes(out.resolve("metrics.jsonl"));
    byte[] oldFinal = Files.readAllBytes(out.resolve("final/model.safetensors"));
    List<String> oldEntries = entries(out);

    // without --resume or --overwrite_output_dir: refused, nothing touched
    TrainConfig again = TrainerTest.config(out.toString());
    var e = assertThrows(RewardKitException.class, () -> trainer(again, TrainerTest.model(again)).train());
    assertTrue(e.getMessage().contains("already holds a run (checkpoint-20") && e.getMessage().contains("--overwrite_output_dir"), e.getMessage());
    assertArrayEquals(oldMetrics, Files.readAllBytes(out.resolve("metrics.jsonl")));

    // an overwrite that fails before its first checkpoint leaves the old run exactly as it was
    TrainConfig failing = TrainerTest.config(out.toString());
    failing.overwriteOutputDir = true;
    assertThrows(IllegalStateException.class, () -> trainer(failing, TrainerTest.model(failing)).onStep(crashAt(7)).train());
    assertArrayEquals(oldMetrics, Files.readAllBytes(out.resolve("metrics.jsonl")));
    assertArrayEquals(oldFinal, Files.readAllBytes(out.resolve("final/model.safetensors")));
    assertEquals(oldEntries, entries(out));
    assertEquals(List.of("run"), entries(tmp), "no staging directory left beside the run");

    // a successful overwrite: the old run stays in place until the new one's first checkpoint (step 10)
    TrainConfig fresh = TrainerTest.config(out.toString());
    fresh.overwriteOutputDir = true;
    trainer(fresh, TrainerTest.model(fresh)).onStep((s, m) -> {
      try {
        if (s == 9) {
          assertArrayEquals(oldMetrics, Files.readAllBytes(out.resolve("metrics.jsonl")), "old run replaced early");
        }
        if (s == 11) {
          assertEquals(List.of(10L), Checkpoints.list(out).stream().map(Checkpoints::stepOf).toList());
          assertFalse(Files.exists(out.resolve("final")), "old final/ is gone with the old run");
        }
      } catch (IOException x) {
        throw new AssertionError(x);
      }
    }).train();
    assertTrue(console().contains("replaced the previous run"), console());
    TrainConfig r = TrainerTest.config(ref.toString());
    trainer(r, TrainerTest.model(r)).train();
    // identical records apart from the wall clock and the run_start (which names the directory)
    assertEquals(metrics(ref), metrics(out));
    assertEquals(List.of("ref", "run"), entries(tmp));
  }

  @Test void resumeRefusesChangedOptionsAndAppliesAllowedOnes() throws Exception {
    Path out = tmp.resolve("run");
    TrainConfig c = TrainerTest.config(out.toString());
    assertThrows(IllegalStateException.class, () -> trainer(c, TrainerTest.model(c)).onStep(crashAt(27)).train());
    byte[] metrics = Files.readAllBytes(out.resolve("metrics.jsonl"));

    TrainConfig changed = TrainerTest.config(out.toString());
    changed.resume = "latest";
    changed.learningRate = 0.1;
    changed.seed = 8;
    changed.maxSteps = 40;  // allowed
    var e = assertThrows(RewardKitException.class, () -> trainer(changed, TrainerTest.model(changed)).train());
    assertTrue(e.getMessage().contains("--learning_rate 0.05 -> 0.1") && e.getMessage().contains("--seed 7 -> 8"), e.getMessage());
    assertFalse(e.getMessage().contains("--max_steps -1 ->"), "allowed changes are not refused: " + e.getMessage());
    assertArrayEquals(metrics, Files.readAllBytes(out.resolve("metrics.jsonl")), "a refused resume writes nothing");

    TrainConfig allowed = TrainerTest.config(out.toString());
    allowed.resume = "latest";
    allowed.maxSteps = 40;
    allowed.saveSteps = 15;
    Trainer.Result r = trainer(allowed, TrainerTest.model(allowed)).train();
    assertEquals(40, r.globalStep());
    assertTrue(console().contains("resume: --max_steps -1 -> 40 (applied)") && console().contains("resume: --save_steps 10 -> 15 (applied)"), console());
  }

  @Test void damagedNewestCheckpointFallsBackToThePreviousOne() throws Exception {
    Path a = tmp.resolve("a");
    TrainConfig ca = TrainerTest.config(a.toString());
    trainer(ca, TrainerTest.model(ca)).train();
    List<Map<String, Object>> expected = metrics(a);

    for (String damage : List.of("truncate", "flip")) {
      Path b = tmp.resolve(damage);
      TrainConfig cb = TrainerTest.config(b.toString());
      assertThrows(IllegalStateException.class, () -> trainer(cb, TrainerTest.model(cb)).onStep(crashAt(27)).train());
      assertEquals(List.of(10L, 20L), Checkpoints.list(b).stream().map(Checkpoints::stepOf).toList());
      Path victim = b.resolve(damage.equals("truncate") ? "checkpoint-20/optimizer.safetensors" : "checkpoint-20/model.safetensors");
      long size = Files.size(victim);
      if (damage.equals("truncate")) {
        try (RandomAccessFile f = new RandomAccessFile(victim.toFile(), "rw")) { f.setLength(size - 100); }
      } else {
        try (RandomAccessFile f = new RandomAccessFile(victim.toFile(), "rw")) {
          f.seek(size - 3);
          int x = f.read();
          f.seek(size - 3);
          f.write(x ^ 0x04);
        }
      }
      // naming the damaged checkpoint explicitly is refused: never resume from a failing checkpoint
      TrainConfig explicit = TrainerTest.config(b.toString());
      explicit.resume = b.resolve("checkpoint-20").toString();
      var e = assertThrows(RewardKitException.class, () -> trainer(explicit, TrainerTest.model(explicit)).train());
      assertTrue(e.getMessage().contains("checkpoint is damaged: " + victim.getFileName()), e.getMessage());

      console.reset();
      cb.resume = "latest";
      trainer(cb, new BagModel(TrainerTest.B, 16, 999)).train();
      String msg = damage.equals("truncate")
          ? "optimizer.safetensors has " + (size - 100) + " bytes, expected " + size + " (truncated); falling back to checkpoint-10"
          : "model.safetensors content differs from its recorded SHA-256 (corrupted); falling back to checkpoint-10";
      assertTrue(console().contains("checkpoint-20 is damaged: " + msg), console());
      assertTrue(console().contains("resumed from " + b.resolve("checkpoint-10") + " at step 10"), console());
      assertEquals(expected, metrics(b), damage);
      assertArrayEquals(Files.readAllBytes(a.resolve("final/model.safetensors")), Files.readAllBytes(b.resolve("final/model.safetensors")));
    }
  }

  @Test void aKillBetweenTheOverwriteRenamesIsFinishedAtTheNextStart() throws Exception {
    Path out = tmp.resolve("run"), staging = tmp.resolve(".run.overwrite-4242"), replaced = tmp.resolve(".run.replaced-4242");
    TrainConfig c = TrainerTest.config(staging.toString());
    c.numTrainEpochs = 1;
    c.report = false;
    trainer(c, TrainerTest.model(c)).train();         // the new run, complete in its staging directory
    Files.createDirectories(replaced.resolve("checkpoint-60"));  // the old run, renamed aside; no output directory
    byte[] metrics = Files.readAllBytes(staging.resolve("metrics.jsonl"));
    try (RunDirectory d = RunDirectory.acquire(out)) {
      assertArrayEquals(metrics, Files.readAllBytes(out.resolve("metrics.jsonl")), "the new run is in place");
    }
    assertEquals(List.of("run"), entries(tmp));
  }

  @Test void resumeWithoutARunIsAnErrorAndCreatesNothing() {
    Path out = tmp.resolve("typo");
    TrainConfig c = TrainerTest.config(out.toString());
    c.resume = "latest";
    var e = assertThrows(RewardKitException.class, () -> trainer(c, TrainerTest.model(c)).train());
    assertTrue(e.getMessage().contains("holds no checkpoint to resume from"), e.getMessage());
    assertFalse(Files.exists(out), "the mistyped directory was not created");
  }

  @Test void failedAndKilledRunsLeaveNothingBehind() throws Exception {
    // a new run that fails before its first checkpoint removes what it wrote (and the directory it made)
    Path out = tmp.resolve("run");
    TrainConfig c = TrainerTest.config(out.toString());
    assertThrows(IllegalStateException.class, () -> trainer(c, TrainerTest.model(c)).onStep(crashAt(3)).train());
    assertFalse(Files.exists(out), "left behind: " + (Files.exists(out) ? entries(out) : ""));

    // what a kill -9 leaves: temporaries of atomic writes (also the model writer's "..tmp-" inside a
    // checkpoint's temporary) and the metrics/config of a run that had no checkpoint yet
    Files.createDirectories(out.resolve(".tmp-checkpoint-10-4242"));
    Files.createDirectories(out.resolve("..tmp-checkpoint-10-4242.tmp-123"));
    Files.createDirectories(out.resolve(".final.old-77"));
    Files.writeString(out.resolve("train_config.json.tmp-4242"), "{");
    Files.writeString(out.resolve("metrics.jsonl"), "{\"loss\": 1, \"global_step\": 5}\n{\"lo");
    Files.writeString(out.resolve("train_config.json"), "{}");
    TrainConfig again = TrainerTest.config(out.toString());
    again.numTrainEpochs = 1;
    trainer(again, TrainerTest.model(again)).train();
    assertTrue(console().contains("removed ..tmp-checkpoint-10-4242.tmp-123 (left by an interrupted run)"), console());
    assertTrue(console().contains("removed metrics.jsonl of an earlier run that stopped before its first checkpoint"), console());
    List<String> left = entries(out).stream().filter(n -> n.startsWith(".") || n.contains(".tmp")).toList();
    assertEquals(List.of(RunDirectory.LOCK), left);
    // the new run's records only: its run_start, then its first logging step (not the old "loss": 1 line)
    List<Map<String, Object>> rows = MetricsLog.read(out.resolve("metrics.jsonl"));
    assertEquals(MetricsRecords.RUN_START, MetricsRecords.kind(rows.get(0)));
    Map<String, Object> first = rows.get(1);
    assertEquals(MetricsRecords.TRAIN, MetricsRecords.kind(first));
    assertEquals(5, ((Number) first.get("global_step")).intValue());
    assertTrue(((Number) first.get("loss")).doubleValue() < 1, "loss " + first.get("loss"));
  }

  @Test void aFailedCheckpointWriteLeavesNoTemporaryAndNamesTheCheckpoint() throws Exception {
    Path target = tmp.resolve("checkpoint-5");
    var e = assertThrows(RewardKitException.class, () -> Checkpoints.writeAtomically(target, dir -> {
      Files.writeString(dir.resolve("model.safetensors"), "partial");
      throw new IOException("No space left on device");
    }));
    assertEquals("cannot write " + target.toAbsolutePath() + ": No space left on device", e.getMessage());
    assertEquals(List.of(), entries(tmp));
  }

  @Test void metricsLinesAreWholeAndATornTailIsIgnoredByReadersAndRepairedByTheWriter() throws Exception {
    Path f = tmp.resolve("metrics.jsonl");
    Files.writeString(f, "{\"loss\": 0.5, \"global_step\": 1}\n{\"loss\": 0.4, \"global_step\": 2}\n{\"loss\": 0.3, \"glo");
    assertEquals(2, MetricsLog.read(f).size(), "a reader ignores the torn tail");
    assertEquals(2, MetricsLog.lines(f).size());
    // a complete JSON object without its newline is still a torn write
    Files.writeString(f, "{\"loss\": 0.5, \"global_step\": 1}\n{\"loss\": 0.4, \"global_step\": 2}");
    assertEquals(1, MetricsLog.read(f).size());
    Files.writeString(f, "{\"loss\": 0.5, \"global_step\": 1}\n{\"loss\": 0.4, \"global_step\": 2}\n{\"loss\": 0.3, \"glo");
    try (MetricsLog log = new MetricsLog(f, 10)) {
      assertEquals(2, log.history().size());
      log.write(Map.of("global_step", 3, "note", "x".repeat(20000)));  // longer than any stream buffer
    }
    String text = Files.readString(f);
    assertTrue(text.endsWith("\n") && text.lines().count() == 3, text.length() + " chars");
    assertEquals(3, MetricsLog.read(f).size());
    // a broken complete line is an error naming the file and line, not silently skipped
    Files.writeString(f, "{\"a\": 1}\nnot json\n");
    var e = assertThrows(RewardKitException.class, () -> MetricsLog.read(f));
    assertTrue(e.getMessage().contains("metrics.jsonl: line 2"), e.getMessage());
  }

  /** metrics.jsonl as a resumed run must reproduce it (see MetricsRecords.withoutWallClock). */
  private static List<Map<String, Object>> metrics(Path run) throws IOException {
    return MetricsRecords.withoutWallClock(MetricsLog.read(run.resolve("metrics.jsonl")));
  }
}
