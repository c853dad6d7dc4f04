package io.rewardkit.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.report.MetricsRecords;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The training loop on a tiny bag-of-tokens model: learning, checkpoints, exact resume (also after kill -9), NaN guard. */
class TrainerTest {
  static final CpuBackend B = new CpuBackend();
  @TempDir Path tmp;

  static TrainConfig config(String out) {
    TrainConfig c = new TrainConfig();
    c.outputDir = out;
    c.dataset = List.of("toy");
    c.modelNameOrPath = "toy";
    c.learningRate = 0.05;
    c.lrSchedulerType = "cosine";
    c.warmupSteps = 3;
    c.weightDecay = 0.01;
    c.gradientAccumulationSteps = 2;
    c.numTrainEpochs = 3;       // 240 pairs / 6 per batch / 2 accumulation = 20 steps per epoch
    c.loggingSteps = 5;
    c.evalSteps = 10;
    c.saveSteps = 10;
    c.saveTotalLimit = 2;
    c.maxGradNorm = 1.0;
    c.maxLength = 64;
    c.maxTokensPerBatch = 128;
    c.report = false;
    c.seed = 7;
    return c;
  }

  static Trainer trainer(TrainConfig cfg, BagModel model) {
    return new Trainer(cfg, model, new ToyPairs(240, 6, cfg.seed, 1), new ToyPairs(60, 16, cfg.seed + 1, 2),
        CheckpointContent.none(), new java.io.PrintStream(java.io.OutputStream.nullOutputStream())).terminal(false);
  }

  static BagModel model(TrainConfig cfg) { return new BagModel(B, 16, cfg.seed); }

  @Test void learnsWritesMetricsCheckpointsAndReport() throws IOException {
    TrainConfig cfg = config(tmp.resolve("a").toString());
    cfg.report = true;
    BagModel m = model(cfg);
    Trainer.Result r = trainer(cfg, m).train();
    assertEquals(60, r.globalStep());
    assertTrue(r.finalEval().accuracy() > 0.9, "eval accuracy " + r.finalEval().accuracy());
    List<Map<String, Object>> rows = MetricsLog.read(tmp.resolve("a/metrics.jsonl"));
    Map<String, Object> first = MetricsRecords.ofKind(rows, MetricsRecords.TRAIN).get(0);
    for (String k : List.of("loss", "accuracy", "margin", "min_reward", "mean_reward", "max_reward", "learning_rate",
        "grad_norm", "epoch", "global_step", "num_tokens", "timestamp", "elapsed_s", "tokens_per_s")) {
      assertTrue(first.containsKey(k), "metric " + k);
    }
    assertEquals(5, ((Number) first.get("global_step")).intValue());
    // eval every 10 steps with per-dataset accuracy (two eval datasets)
    long evals = rows.stream().filter(x -> x.containsKey("eval_accuracy")).count();
    assertEquals(6, evals);
    assertTrue(rows.stream().anyMatch(x -> x.containsKey("eval_toy1_accuracy")));
    double firstLoss = ((Number) first.get("loss")).doubleValue();
    double lastLoss = ((Number) rows.stream().filter(x -> x.containsKey("loss")).reduce((a, b) -> b).get().get("loss")).doubleValue();
    assertTrue(lastLoss < firstLoss, "loss " + firstLoss + " -> " + lastLoss);
    // keeps the last 2 checkpoints; each is complete
    assertEquals(List.of(50L, 60L), Checkpoints.list(tmp.resolve("a")).stream().map(Checkpoints::stepOf).toList());
    Path ck = tmp.resolve("a/checkpoint-60");
    ObjectNode config = Checkpoints.readJson(ck.resolve("config.json"));
    assertEquals("LlamaForSequenceClassification", config.get("architectures").get(0).asText());
    assertEquals("LABEL_0", config.get("id2label").get("0").asText());
    ObjectNode manifest = Checkpoints.readJson(ck.resolve(Checkpoints.MANIFEST));
    assertEquals("ranking", manifest.get("loss").get("loss_type").asText());
    assertEquals(r.finalEval().meanReward(), manifest.get("reward_stats").get("mean").asDouble(), 0);
    assertTrue(Files.isRegularFile(tmp.resolve("a/final/model.safetensors")));
    // report
    for (String f : List.of("loss.png", "accuracy.png", "learning_rate.png", "grad_norm.png", "rewards.png",
        "accuracy_by_length.png")) {
      assertTrue(Files.size(tmp.resolve("a/report").resolve(f)) > 1000, f);
    }
    String html = Files.readString(tmp.resolve("a/report/index.html"));
    assertTrue(html.contains("data:image/png;base64,") && html.contains("eval_accuracy"));
    // nothing temporary left behind (the lock file stays: it is how the next run finds out whether one is running)
    try (Stream<Path> s = Files.list(tmp.resolve("a"))) {
      assertFalse(s.anyMatch(p -> p.getFileName().toString().startsWith(".") && !p.getFileName().toString().equals(RunDirectory.LOCK)));
    }
  }

  @Test void consoleShowsTheLoggedWindowMeansOnOneLineAt80Columns() throws IOException {
    TrainConfig cfg = config(tmp.resolve("a").toString());
    java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
    new Trainer(cfg, model(cfg), new ToyPairs(240, 6, cfg.seed, 1), new ToyPairs(60, 16, cfg.seed + 1, 2),
        CheckpointContent.none(), new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8))
        .terminal(true).columns(80).train();
    String text = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
    java.util.Set<String> logged = new java.util.HashSet<>();
    for (Map<String, Object> r : MetricsRecords.ofKind(MetricsLog.read(tmp.resolve("a/metrics.jsonl")), MetricsRecords.TRAIN)) {
      logged.add(String.format(java.util.Locale.ROOT, "loss %.4f | acc %.3f", r.get("loss"), r.get("accuracy")));
    }
    java.util.Set<String> shown = new java.util.HashSet<>();
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("loss [0-9.]+ \\| acc [0-9.]+").matcher(text);
    while (m.find()) shown.add(m.group());
    assertEquals(logged, shown, "the bar shows exactly the logged means");
    for (String seg : text.split("[\\r\\n]")) {
      if (seg.contains(" | ETA")) assertTrue(seg.length() <= 79, seg.length() + ": " + seg);
    }
    // lines end only around the 6 eval lines, after the 2 header lines and at the end: never per redraw (60 steps)
    long newlines = text.chars().filter(c -> c == '\n').count();
    assertTrue(newlines <= 2 + 2 * 6 + 1, newlines + " lines for 60 steps:\n" + text);
  }

  @Test void everyRecordCarriesItsKindStepAndWallClock() throws IOException {
    TrainConfig cfg = config(tmp.resolve("a").toString());
    Trainer.Result r = trainer(cfg, model(cfg)).describe(Map.of("model", Map.of("source", "toy bag-of-tokens"),
        "datasets", List.of("toy"), "data", Map.of("train", List.of(Map.of("dataset", "toy", "dropped", 3))))).train();
    List<Map<String, Object>> rows = MetricsLog.read(tmp.resolve("a/metrics.jsonl"));
    for (Map<String, Object> row : rows) {
      for (String k : List.of("record", "global_step", "timestamp", "elapsed_s")) assertTrue(row.containsKey(k), k + " in " + row);
      java.time.Instant.parse((String) row.get("timestamp"));
    }
    assertEquals(List.of("run_start", "train"), rows.subList(0, 2).stream().map(x -> x.get("record")).toList());
    assertEquals("run_end", rows.get(rows.size() - 1).get("record"));
    Map<String, Object> start = rows.get(0);
    assertEquals(0, ((Number) start.get("global_step")).intValue());
    assertEquals(60, ((Number) start.get("total_steps")).intValue());
    assertEquals(16 + 1, ((Number) ((Map<?, ?>) start.get("model")).get("parameters")).intValue());
    assertEquals("toy bag-of-tokens", ((Map<?, ?>) start.get("model")).get("source"));
    Map<?, ?> data = (Map<?, ?>) start.get("data");
    assertEquals(240, ((Number) data.get("train_pairs")).intValue());
    assertEquals(60, ((Number) data.get("eval_pairs")).intValue());
    assertEquals(3, ((Number) ((Map<?, ?>) ((List<?>) data.get("train")).get(0)).get("dropped")).intValue());
    assertEquals(64, ((String) start.get("options_sha256")).length());
    assertEquals(0.05, ((Number) ((Map<?, ?>) start.get("options")).get("learning_rate")).doubleValue());
    assertTrue(start.containsKey("rewardkit_version") && start.containsKey("commit"));
    for (Map<String, Object> t : MetricsRecords.ofKind(rows, MetricsRecords.TRAIN)) {
      assertTrue(((Number) t.get("tokens_per_s")).doubleValue() > 0, "tokens_per_s " + t);
    }
    for (Map<String, Object> e : MetricsRecords.ofKind(rows, MetricsRecords.EVAL)) {
      assertTrue(((Number) e.get("eval_tokens_per_s")).doubleValue() > 0 && e.containsKey("eval_runtime"), "eval " + e);
    }
    Map<String, Object> end = rows.get(rows.size() - 1);
    assertEquals(60, ((Number) end.get("global_step")).intValue());
    assertEquals(r.numTokens(), ((Number) end.get("num_tokens")).longValue());
    assertTrue(((Number) end.get("train_runtime")).doubleValue() > 0 && ((Number) end.get("tokens_per_s")).doubleValue() > 0);
    Map<?, ?> fin = (Map<?, ?>) end.get("final");
    assertEquals(r.finalEval().accuracy(), ((Number) fin.get("eval_accuracy")).doubleValue(), 0);
    assertEquals(r.lastTrainMetrics().get("loss"), fin.get("loss"));
    // elapsed time never goes backwards within an invocation
    double prev = -1;
    for (Map<String, Object> row : rows) {
      double e = ((Number) row.get("elapsed_s")).doubleValue();
      assertTrue(e >= prev, "elapsed_s " + prev + " -> " + e);
      prev = e;
    }
  }

  @Test void checkpointRoundTripRestoresExactState() throws IOException {
    TrainConfig cfg = config(tmp.resolve("a").toString());
    cfg.numTrainEpochs = 1;
    BagModel m = model(cfg);
    trainer(cfg, m).train();
    BagModel fresh = new BagModel(B, 16, 999);
    AdamWOptimizer opt = new AdamWOptimizer(fresh, 0.9, 0.999, 1e-8, 0);
    opt.load(tmp.resolve("a/checkpoint-20").resolve(Checkpoints.OPTIMIZER), 20);
    assertArrayEquals(m.w.toFloatArray(), fresh.w.toFloatArray());
    assertArrayEquals(m.bias.toFloatArray(), fresh.bias.toFloatArray());
    ObjectNode st = Checkpoints.readJson(tmp.resolve("a/checkpoint-20").resolve(Checkpoints.TRAINER_STATE));
    assertEquals(20, st.get("global_step").asLong());
    assertEquals(7, st.get("rng").get("seed").asLong());
  }

  @Test void resumeAfterCrashMatchesUninterruptedRun() throws IOException {
    TrainConfig a = config(tmp.resolve("a").toString());
    BagModel ma = model(a);
    trainer(a, ma).train();

    TrainConfig b = config(tmp.resolve("b").toString());
    assertThrows(IllegalStateException.class, () -> trainer(b, model(b)).onStep((step, mm) -> {
      if (step == 27) throw new IllegalStateException("simulated crash");
    }).train());
    assertEquals(20, Checkpoints.stepOf(Checkpoints.latest(tmp.resolve("b")).orElseThrow()));
    b.resume = "latest";
    BagModel mb = new BagModel(B, 16, 12345);  // weights come from the checkpoint, not from the init
    trainer(b, mb).train();
    assertSameRun(tmp.resolve("a"), tmp.resolve("b"));
    assertArrayEquals(ma.w.toFloatArray(), mb.w.toFloatArray());
  }

  /**
   * kill -9 at 12 random points spread over steps, saves, evals and the report (each child logs the
   * phase it pauses in; the test waits for the n-th pause of the phase it targets, sleeps a random
   * part of the pause and kills), restarting with --resume whenever a checkpoint exists: the run
   * that finally completes writes byte-identical metrics, checkpoint, final model and report.
   */
  @Test void killNineAtRandomPointsStillByteIdentical() throws Exception {
    Path a = tmp.resolve("a"), b = tmp.resolve("b"), phases = tmp.resolve("phases.log");
    TrainConfig ca = config(a.toString());
    ca.report = true;
    trainer(ca, model(ca)).train();

    java.util.Random rnd = new java.util.Random(20261201);
    // steps, saves and evals while the run is short of its end (a life makes at most one checkpoint
    // of progress), the report once the last checkpoint is near
    String[] plan = {"step", "save", "eval"};
    Map<String, Integer> delays = Map.of("step", 4, "save", 150, "eval", 100, "report", 200);
    Map<String, Integer> kills = new java.util.TreeMap<>();
    boolean sawTmpCheckpoint = false;
    for (int life = 0; life < 12; life++) {
      long at = Checkpoints.latest(b).map(Checkpoints::stepOf).orElse(0L);
      String phase = at >= 50 || life >= 10 ? "report" : plan[life % plan.length];
      Files.deleteIfExists(phases);
      boolean resume = Checkpoints.latest(b).isPresent();
      List<String> props = new ArrayList<>(List.of("-Drewardkit.test.phaseLog=" + phases));
      delays.forEach((k, ms) -> props.add("-Drewardkit.test." + k + "DelayMs=" + ms));
      Process p = ChildJvm.start(TrainChildMain.class, props, List.of(b.toString(), resume ? "latest" : "-", "true"), logFile(b));
      int nth = phase.equals("step") ? 1 + rnd.nextInt(20) : phase.equals("report") ? 1 : 1 + rnd.nextInt(2);
      waitFor(() -> count(phases, phase) >= nth, p);
      Thread.sleep(rnd.nextInt(delays.get(phase)));
      if (phase.equals("save")) sawTmpCheckpoint |= ChildJvm.hasEntry(b, ".tmp-checkpoint-");
      p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      kills.merge(phase, 1, Integer::sum);
    }
    assertEquals(java.util.Set.of("eval", "report", "save", "step"), kills.keySet(), "kills per phase " + kills);
    assertTrue(sawTmpCheckpoint, "at least one kill landed inside a checkpoint write");
    Process last = ChildJvm.start(TrainChildMain.class, List.of(), List.of(b.toString(), "latest", "true"), logFile(b));
    assertTrue(last.waitFor(120, TimeUnit.SECONDS));
    assertEquals(0, last.exitValue(), () -> log(b));
    assertSameRun(a, b);
    // the report's charts byte for byte; its page differs only in the run header (run dir, dates, runtime, invocations)
    for (String f : List.of("checkpoint-60/optimizer.safetensors", "final/model.safetensors", "report/loss.png",
        "report/accuracy.png", "report/learning_rate.png", "report/grad_norm.png", "report/rewards.png",
        "report/accuracy_by_length.png")) {
      assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f);
    }
    assertEquals(withoutRunHeader(a), withoutRunHeader(b));
    try (Stream<Path> s = Files.list(b)) {
      assertEquals(List.of(), s.map(x -> x.getFileName().toString()).filter(n -> n.startsWith(".") && !n.equals(RunDirectory.LOCK)).toList());
    }
  }

  private static String withoutRunHeader(Path run) throws IOException {
    String html = Files.readString(run.resolve("report/index.html"));
    String stripped = html.replaceFirst("<p class=\"sub\">.*?</p>", "").replaceFirst("<table class=\"run\">.*?</table>", "");
    assertTrue(stripped.length() < html.length() - 200, "the run header was found and removed");
    return stripped;
  }

  private static long count(Path phases, String phase) {
    return ChildJvm.readOrEmpty(phases).lines().filter(phase::equals).count();
  }

  private static Path logFile(Path out) {
    return out.resolveSibling(out.getFileName() + ".log");
  }

  /**
   * A resumed run's metrics.jsonl equals the uninterrupted run's in everything but the wall clock
   * (timestamps, elapsed seconds, throughput) and the run_start record each invocation adds; the
   * resumed run's run_start records name the checkpoint and carry the original options fingerprint.
   */
  static void assertSameRun(Path uninterrupted, Path resumed) throws IOException {
    List<Map<String, Object>> a = MetricsLog.read(uninterrupted.resolve("metrics.jsonl"));
    List<Map<String, Object>> b = MetricsLog.read(resumed.resolve("metrics.jsonl"));
    assertEquals(MetricsRecords.withoutWallClock(a), MetricsRecords.withoutWallClock(b));
    List<Map<String, Object>> starts = MetricsRecords.ofKind(b, MetricsRecords.RUN_START);
    assertTrue(starts.size() >= 2, "one run_start per invocation: " + starts.size());
    assertNull(starts.get(0).get("resumed_from"));
    for (Map<String, Object> s : starts.subList(1, starts.size())) {
      assertTrue(String.valueOf(s.get("resumed_from")).contains("checkpoint-"), "resumed_from " + s.get("resumed_from"));
      assertEquals(MetricsRecords.ofKind(a, MetricsRecords.RUN_START).get(0).get("options_sha256"), s.get("options_sha256"));
    }
  }

  private static String log(Path out) {
    return ChildJvm.readOrEmpty(out.resolveSibling(out.getFileName() + ".log"));
  }

  private static void waitFor(java.util.function.BooleanSupplier cond, Process p) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!cond.getAsBoolean()) {
      if (!p.isAlive()) throw new AssertionError("child exited early with " + p.exitValue());
      if (System.nanoTime() > deadline) { p.destroyForcibly(); throw new AssertionError("timed out"); }
      Thread.sleep(5);
    }
  }


  @Test void nanLossStopsWithStepAndKeepsLastGoodCheckpoint() throws IOException {
    TrainConfig cfg = config(tmp.resolve("n").toString());
    BagModel m = model(cfg);
    TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> trainer(cfg, m).onStep((step, mm) -> {
      if (step == 12) for (int t = 0; t < 16; t++) m.w.setDouble(t, Double.NaN);
    }).train());
    assertEquals(13, e.step());
    assertTrue(e.getMessage().contains("step 13") && e.getMessage().contains("loss is NaN"), e.getMessage());
    assertTrue(e.getMessage().contains("checkpoint-10"), e.getMessage());
    assertEquals(List.of(10L), Checkpoints.list(tmp.resolve("n")).stream().map(Checkpoints::stepOf).toList());
  }

  @Test void nanGradientStopsTheRun() {
    TrainConfig cfg = config(tmp.resolve("g").toString());
    BagModel m = model(cfg);
    TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> trainer(cfg, m).onStep((step, mm) -> {
      if (step == 4) m.nanGrad = true;
    }).train());
    assertEquals(5, e.step());
    assertTrue(e.getMessage().contains("gradient norm is NaN"), e.getMessage());
    assertTrue(e.getMessage().contains("no checkpoint"), e.getMessage());
  }

  @Test void badReadoutIsAnError() {
    TrainConfig cfg = config(tmp.resolve("r").toString());
    ToyPairs bad = new ToyPairs(12, 6, 1, 1) {
      @Override public List<io.rewardkit.data.PackedBatch> trainBatches(int epoch) {
        List<io.rewardkit.data.PackedBatch> b = new ArrayList<>(super.trainBatches(epoch));
        var x = b.get(0);
        int[] readout = x.readout().clone();
        readout[1] -= 1;  // no longer the last token of its sequence
        b.set(0, new io.rewardkit.data.PackedBatch(x.tokens(), x.positions(), x.cuSeqlens(), null, x.maxSeqlen(), readout,
            x.chosen(), x.rejected(), x.margins(), x.pairIds(), x.datasetIds()));
        return b;
      }
    };
    var ex = assertThrows(io.rewardkit.RewardKitException.class, () -> new Trainer(cfg, model(cfg), bad, null,
        CheckpointContent.none(), new java.io.PrintStream(java.io.OutputStream.nullOutputStream())).train());
    assertTrue(ex.getMessage().contains("malformed packed batch") && ex.getMessage().contains("not the last token of its sequence"), ex.getMessage());
    assertNotNull(ex);
  }

  @Test void yamlConfigWithCommandLineOverride() throws IOException {
    Path y = tmp.resolve("c.yaml");
    String a = Files.writeString(tmp.resolve("a.jsonl"), "").toString(), b = Files.writeString(tmp.resolve("b.jsonl"), "").toString();
    Files.writeString(y, "learning_rate: 2.0e-5\nlr_scheduler_type: cosine\ndataset: [" + a + ", " + b + "]\nmax_steps: 7\n");
    TrainConfig c = new TrainConfig().applyYaml(y).apply(Map.of("learning_rate", "3e-4"));
    assertEquals(3e-4, c.learningRate);
    assertEquals("cosine", c.lrSchedulerType);
    assertEquals(List.of(a, b), c.dataset);
    assertEquals(7, c.maxSteps);
    Files.writeString(y, "learning_rate: 1\nlearnig_rate: 2\n");
    var e = assertThrows(io.rewardkit.RewardKitException.class, () -> new TrainConfig().applyYaml(y));
    assertTrue(e.getMessage().contains("line 2") && e.getMessage().contains("learnig_rate"), e.getMessage());
  }

}
