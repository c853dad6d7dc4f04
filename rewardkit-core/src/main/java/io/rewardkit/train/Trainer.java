package io.rewardkit.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.BuildInfo;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.eval.EvalResult;
import io.rewardkit.eval.Evaluator;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backend.RewardLossSpec;
import io.rewardkit.kernels.CpuBlas;
import io.rewardkit.kernels.Device;
import io.rewardkit.model.TrainableModel;
import io.rewardkit.report.MetricsRecords;
import io.rewardkit.report.TrainingReport;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The training loop around {@link TrainingStep} (micro-batches → fused loss → backward → gradient accumulation →
 * global-norm clipping → AdamW) with a warmup schedule; logging, evaluation, atomic checkpoints and exact resume.
 *
 * <p>Determinism: the data order is a function of (seed, epoch), the CPU kernels are deterministic
 * and every piece of loop state (optimizer moments, master weights, step, data position, logging
 * window) is saved bit-exactly, so a resumed run writes the same metrics as an uninterrupted one.
 * Usable without the CLI: {@code new Trainer(config, model, train, eval, content, out).train()}.
 */
public final class Trainer {

  /** Called after every optimizer step (tests use it to inject faults). */
  public interface StepListener { void afterStep(long globalStep, TrainableModel model); }

  public record Result(long globalStep, Map<String, Object> lastTrainMetrics, EvalResult finalEval,
      Path outputDir, Path finalModel, double seconds, long numTokens) {}

  private final TrainConfig cfg;
  private final TrainableModel model;
  private final Backend backend;
  private final PairSource train;
  private final PairSource eval;  // nullable
  private final CheckpointContent content;
  private final PrintStream console;
  private Path outputDir;         // where the run writes now (an overwrite's staging directory until its first checkpoint)
  private RunDirectory run;       // the locked output directory (acquired by train() unless given)
  private final RewardLossSpec spec;
  private StepListener listener = (s, m) -> {};
  private boolean tty = ProgressBar.isTerminal();
  private int columns = -1;
  private final Map<String, Object> runInfo = new LinkedHashMap<>();

  // ---- loop state (saved in trainer_state.json) ----
  private long globalStep;
  private int epoch;
  private int batchInEpoch;
  private long numTokens;
  private final Window window = new Window();
  private long lastEvalStep = -1;
  private EvalResult lastEval;

  public Trainer(TrainConfig cfg, TrainableModel model, PairSource train, PairSource eval, CheckpointContent content,
      PrintStream console) {
    cfg.validate();
    this.cfg = cfg;
    this.model = model;
    this.backend = model.backend();
    this.train = train;
    this.eval = eval;
    this.content = content;
    this.console = console;
    this.outputDir = Path.of(cfg.outputDir);
    this.spec = cfg.lossSpec();
  }

  public Trainer onStep(StepListener l) { this.listener = l; return this; }

  public Trainer terminal(boolean isTty) { this.tty = isTty; return this; }

  /** Console width for the progress bar (tests; default: the terminal's). */
  public Trainer columns(int width) { this.columns = width; return this; }

  /**
   * What the run_start record of metrics.jsonl says about the run besides what the trainer knows:
   * {@code model} (source, type, sizes), {@code datasets} (inputs) and {@code data} (per-dataset
   * read/kept/dropped counts). Entries are copied as given.
   */
  public Trainer describe(Map<String, Object> info) { runInfo.putAll(info); return this; }

  /** Trains in an output directory the caller has already locked (the CLI locks it before loading data). */
  public Trainer in(RunDirectory dir) { this.run = dir; return this; }

  /** Running means of the step metrics since the last log line (TRL averages over the logging window). */
  static final class Window {
    double loss, accuracy, margin, meanReward, min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
    int steps;

    void add(double[] s) {
      loss += s[RewardLossSpec.LOSS];
      accuracy += s[RewardLossSpec.ACCURACY];
      margin += s[RewardLossSpec.MARGIN];
      meanReward += s[RewardLossSpec.MEAN_REWARD];
      min = Math.min(min, s[RewardLossSpec.MIN_REWARD]);
      max = Math.max(max, s[RewardLossSpec.MAX_REWARD]);
      steps++;
    }

    void reset() {
      loss = accuracy = margin = meanReward = 0;
      min = Double.POSITIVE_INFINITY;
      max = Double.NEGATIVE_INFINITY;
      steps = 0;
    }

    Map<String, Object> toJson() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("loss", loss); m.put("accuracy", accuracy); m.put("margin", margin); m.put("mean_reward", meanReward);
      m.put("min_reward", steps == 0 ? null : min); m.put("max_reward", steps == 0 ? null : max); m.put("steps", steps);
      return m;
    }

    void fromJson(ObjectNode n) {
      loss = n.get("loss").asDouble(); accuracy = n.get("accuracy").asDouble(); margin = n.get("margin").asDouble();
      meanReward = n.get("mean_reward").asDouble(); steps = n.get("steps").asInt();
      min = n.get("min_reward").isNull() ? Double.POSITIVE_INFINITY : n.get("min_reward").asDouble();
      max = n.get("max_reward").isNull() ? Double.NEGATIVE_INFINITY : n.get("max_reward").asDouble();
    }
  }

  private final Map<Integer, List<PackedBatch>> epochCache = new HashMap<>();

  private List<PackedBatch> batchesOf(int e) {
    List<PackedBatch> cached = epochCache.get(e);
    if (cached != null) return cached;
    epochCache.keySet().removeIf(old -> old < e);  // one epoch's batches in memory at a time (plus epoch 0's count)
    List<PackedBatch> b = train.trainBatches(e);
    if (b.isEmpty()) throw new RewardKitException("the training set produced no batches");
    epochCache.put(e, b);
    return b;
  }

  public long stepsPerEpoch() {
    return (batchesOf(0).size() + cfg.gradientAccumulationSteps - 1) / cfg.gradientAccumulationSteps;
  }

  public long totalSteps() {
    return cfg.maxSteps > 0 ? cfg.maxSteps : Math.max(1, (long) Math.ceil(cfg.numTrainEpochs * stepsPerEpoch()));
  }

  /**
   * Runs to the end. Everything that can be refused (another process holds the directory, a run is
   * there already, a resume that would not continue the same run) is checked before anything is
   * written; a run that fails before its first checkpoint removes what it wrote.
   */
  public Result train() throws IOException {
    boolean own = run == null;
    if (own) run = RunDirectory.acquire(outputDir);
    try {
      return trainLocked();
    } catch (RuntimeException | IOException | Error e) {
      try {
        run.abandon();
      } catch (RuntimeException cleanup) {
        e.addSuppressed(cleanup);
      }
      throw e;
    } finally {
      if (own) {
        run.close();
        run = null;
      }
    }
  }

  private Result trainLocked() throws IOException {
    long startNanos = System.nanoTime();
    Path resumed = resumeCheckpoint(run.target());
    ObjectNode state = resumed == null ? null : Checkpoints.readJson(resumed.resolve(Checkpoints.TRAINER_STATE));
    if (resumed != null) checkSameRun(state, resumed);
    run.begin(resumed != null, cfg.overwriteOutputDir, cfg.outputDir, console);
    outputDir = run.work();
    long total = totalSteps();
    LrSchedule schedule = LrSchedule.of(cfg, total);
    TrainingStep step = TrainingStep.of(cfg, model).afterMicroBatch(() -> pause("rewardkit.test.stepDelayMs"));
    AdamWOptimizer opt = step.optimizer();
    if (resumed != null) restore(state, resumed, opt);
    Checkpoints.writeJson(outputDir.resolve("train_config.json"), TrainConfig.MAPPER.readTree(cfg.toJson()));
    long params = 0;
    for (TrainableModel.Param p : model.params()) params += p.weight().numel();
    console.printf("rewardkit train: %,d parameters on %s; %,d training pairs (%d micro-batches/epoch), %s%n",
        params, backend.name() + (cfg.threads > 0 ? " using " + cfg.threads + (cfg.threads == 1 ? " thread" : " threads") : ""),
        train.numPairs(), batchesOf(0).size(),
        eval == null ? "no eval set" : String.format("%,d eval pairs", eval.numPairs()));
    String blasNote = backend.device() == Device.CPU ? CpuBlas.coreTypeNotice() : null;
    if (blasNote != null) console.println("  " + blasNote);
    console.printf("  %d optimizer steps (%d warmup), gradient accumulation %d, lr %.3g (%s), loss %s%s -> %s%n",
        total, schedule.warmupSteps(), cfg.gradientAccumulationSteps, cfg.learningRate, cfg.lrSchedulerType,
        cfg.lossType, spec.penaltyType() == RewardLossSpec.NO_PENALTY ? "" : " + " + cfg.penaltyType,
        run.target());
    if (resumed != null) console.println("  resumed from " + resumed + " at step " + globalStep);

    ProgressBar bar = new ProgressBar(console, total, globalStep, tty,
        columns > 0 ? () -> columns : ProgressBar::terminalColumns);
    Map<String, Object> lastTrain = null;
    List<Map<String, Object>> history;
    long stepTokens;
    long startTokens = numTokens, windowTokens = numTokens, windowNanos = System.nanoTime();
    double shownLoss = Double.NaN, shownAccuracy = Double.NaN;
    try (MetricsLog log = new MetricsLog(outputDir.resolve("metrics.jsonl"), resumed == null ? -1 : globalStep)) {
      log.write(runStart(startNanos, total, resumed, params));
      while (globalStep < total) {
        List<PackedBatch> batches = batchesOf(epoch);
        if (batchInEpoch >= batches.size()) {
          epoch++;
          batchInEpoch = 0;
          continue;
        }
        int end = Math.min(batches.size(), batchInEpoch + cfg.gradientAccumulationSteps);
        List<PackedBatch> group = batches.subList(batchInEpoch, end);
        double lr = schedule.lr(globalStep);
        TrainingStep.Outcome out;
        try {
          out = step.run(group, lr);
        } catch (TrainingStep.NonFinite e) {
          throw diverged(e.getMessage(), e.batches());
        }
        double[] s = out.stats();
        double norm = out.gradNorm();
        stepTokens = 0;
        for (PackedBatch b : group) stepTokens += b.numTokens();
        globalStep++;
        batchInEpoch = end;
        numTokens += stepTokens;
        window.add(s);
        listener.afterStep(globalStep, model);
        if (globalStep == Long.getLong("rewardkit.test.crashAfterStep", -1)) {
          throw new IllegalStateException("simulated crash after step " + globalStep + " (rewardkit.test.crashAfterStep)");
        }

        boolean last = globalStep == total;
        if (globalStep % cfg.loggingSteps == 0 || last) {
          lastTrain = MetricsRecords.start(MetricsRecords.TRAIN);
          lastTrain.put("loss", window.loss / window.steps);
          lastTrain.put("accuracy", window.accuracy / window.steps);
          lastTrain.put("margin", window.margin / window.steps);
          lastTrain.put("min_reward", window.min);
          lastTrain.put("mean_reward", window.meanReward / window.steps);
          lastTrain.put("max_reward", window.max);
          lastTrain.put("learning_rate", lr);
          lastTrain.put("grad_norm", norm);
          lastTrain.put("epoch", epochProgress());
          lastTrain.put("global_step", globalStep);
          lastTrain.put("num_tokens", numTokens);
          long now = System.nanoTime();
          MetricsRecords.stamp(lastTrain, startNanos);
          lastTrain.put("tokens_per_s", MetricsRecords.round1((numTokens - windowTokens) / Math.max(1e-9, (now - windowNanos) / 1e9)));
          windowTokens = numTokens;
          windowNanos = now;
          log.write(lastTrain);
          window.reset();
          // the console shows exactly what was logged (the window mean), not the last micro-batch
          shownLoss = (Double) lastTrain.get("loss");
          shownAccuracy = (Double) lastTrain.get("accuracy");
        }
        bar.update(globalStep, stepTokens, shownLoss, shownAccuracy, globalStep % cfg.loggingSteps == 0);
        if (eval != null && ((cfg.evalSteps > 0 && globalStep % cfg.evalSteps == 0) || last)) {
          runEval(log, startNanos);
          bar.println(String.format("  step %d: eval_loss %.4f  eval_accuracy %.4f  eval_margin %.3f", globalStep,
              lastEval.loss(), lastEval.accuracy(), lastEval.margin()));
        }
        if ((cfg.saveSteps > 0 && globalStep % cfg.saveSteps == 0) || last) {
          saveCheckpoint(opt);
        }
      }
      bar.finish();
      if (lastTrain == null) lastTrain = MetricsRecords.last(log.history(), MetricsRecords.TRAIN);
      if (lastEval == null && eval != null) {
        // resumed at the very end: the eval of this step is already in the log
        if (lastEvalStep == globalStep) lastEval = Evaluator.evaluate(model, eval.evalBatches(), spec, eval.datasetNames());
        else runEval(log, startNanos);
      }
      log.write(runEnd(startNanos, startTokens, lastTrain));
      history = List.copyOf(log.history());
    }
    Path finalDir = outputDir.resolve("final");
    Checkpoints.writeAtomically(finalDir, dir -> writeModel(dir));
    if (cfg.report) {
      pause("rewardkit.test.reportDelayMs");
      Path html = TrainingReport.write(outputDir.resolve("report"), history, lastEval, "RewardKit training report");
      console.println("  report: " + html.toAbsolutePath().normalize());
    }
    return new Result(globalStep, lastTrain, lastEval, Path.of(cfg.outputDir), finalDir, bar.elapsedSeconds(), numTokens);
  }

  /** The run_start record: what this run is (see {@link MetricsRecords}). */
  private Map<String, Object> runStart(long startNanos, long total, Path resumed, long params) throws IOException {
    Map<String, Object> m = MetricsRecords.start(MetricsRecords.RUN_START);
    m.put("global_step", globalStep);
    m.put("rewardkit_version", BuildInfo.version());
    m.put("commit", BuildInfo.commit());
    m.put("backend", backend.name());
    m.put("matmul_precision", backend.matmulPrecision());
    if (cfg.threads > 0) m.put("threads", cfg.threads);
    Map<String, Object> modelInfo = new LinkedHashMap<>();
    if (runInfo.get("model") instanceof Map<?, ?> given) given.forEach((k, v) -> modelInfo.put(String.valueOf(k), v));
    modelInfo.put("parameters", params);
    m.put("model", modelInfo);
    if (runInfo.containsKey("datasets")) m.put("datasets", runInfo.get("datasets"));
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("train_pairs", train.numPairs());
    data.put("eval_pairs", eval == null ? 0 : eval.numPairs());
    data.put("train_micro_batches_per_epoch", batchesOf(0).size());
    if (runInfo.get("data") instanceof Map<?, ?> given) given.forEach((k, v) -> data.put(String.valueOf(k), v));
    m.put("data", data);
    runInfo.forEach((k, v) -> { if (!m.containsKey(k)) m.put(k, v); });
    m.put("total_steps", total);
    m.put("resumed_from", resumed == null ? null : resumed.toString());
    ObjectNode options = (ObjectNode) TrainConfig.MAPPER.readTree(cfg.toJson());
    m.put("options_sha256", optionsFingerprint(options));
    m.put("options", TrainConfig.MAPPER.convertValue(options, LinkedHashMap.class));  // as read back from the file
    MetricsRecords.stamp(m, startNanos);
    return m;
  }

  /**
   * SHA-256 of the options that determine the result: everything but where outputs go and whether
   * this invocation resumes or writes a report, so a resumed run has its original run's fingerprint.
   */
  public static String optionsFingerprint(ObjectNode options) {
    ObjectNode o = options.deepCopy();
    o.remove(List.of("output_dir", "resume", "report"));
    try {
      byte[] h = java.security.MessageDigest.getInstance("SHA-256")
          .digest(TrainConfig.MAPPER.writeValueAsBytes(o));
      return java.util.HexFormat.of().formatHex(h);
    } catch (java.security.NoSuchAlgorithmException | com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The run_end record: steps, tokens, this invocation's runtime and the final metrics. */
  private Map<String, Object> runEnd(long startNanos, long startTokens, Map<String, Object> lastTrain) {
    Map<String, Object> m = MetricsRecords.start(MetricsRecords.RUN_END);
    m.put("global_step", globalStep);
    m.put("num_tokens", numTokens);
    m.put("epoch", epochProgress());
    Map<String, Object> fin = new LinkedHashMap<>();
    if (lastTrain != null) {
      lastTrain.forEach((k, v) -> {
        if (!MetricsRecords.WALL_CLOCK.contains(k) && !k.equals(MetricsRecords.KIND) && !k.equals("epoch")) fin.put(k, v);
      });
    }
    if (lastEval != null && lastEval.numPairs() > 0) {
      fin.putAll(lastEval.metrics("eval_"));
      fin.put("eval_pairs", lastEval.numPairs());
      fin.put("eval_step", lastEvalStep);
      fin.put("eval_length_baseline_accuracy", lastEval.lengthBaselineAccuracy());
    }
    m.put("final", fin);
    double secs = (System.nanoTime() - startNanos) / 1e9;
    MetricsRecords.stamp(m, startNanos);
    m.put("train_runtime", MetricsRecords.round3(secs));
    m.put("tokens_per_s", MetricsRecords.round1((numTokens - startTokens) / Math.max(1e-9, secs)));
    return m;
  }

  private double epochProgress() {
    int n = batchesOf(epoch).size();
    return epoch + (double) batchInEpoch / n;
  }

  private TrainingDivergedException diverged(String what, List<PackedBatch> batches) {
    long step = globalStep + 1;
    Optional<Path> good = Checkpoints.latest(outputDir);
    List<Long> ids = new ArrayList<>();
    for (PackedBatch b : batches) if (b.pairIds() != null) for (long id : b.pairIds()) if (ids.size() < 8) ids.add(id);
    return new TrainingDivergedException(step, "training diverged at step " + step + " (epoch " + epoch
        + ", micro-batches from " + batchInEpoch + ", pairs " + ids + "): " + what + ". Stopped; "
        + good.map(p -> "the last good checkpoint is " + p + " (continue with --resume " + p + " and a lower --learning_rate)")
            .orElse("no checkpoint was saved before this step."));
  }

  private void runEval(MetricsLog log, long startNanos) {
    pause("rewardkit.test.evalDelayMs");
    long t0 = System.nanoTime();
    List<PackedBatch> batches = eval.evalBatches();
    lastEval = Evaluator.evaluate(model, batches, spec, eval.datasetNames());
    double secs = Math.max(1e-9, (System.nanoTime() - t0) / 1e9);
    long tokens = 0;
    for (PackedBatch b : batches) tokens += b.numTokens();
    lastEvalStep = globalStep;
    Map<String, Object> m = MetricsRecords.start(MetricsRecords.EVAL);
    m.putAll(lastEval.metrics("eval_"));
    m.put("epoch", epochProgress());
    m.put("global_step", globalStep);
    MetricsRecords.stamp(m, startNanos);
    m.put("eval_runtime", MetricsRecords.round3(secs));
    m.put("eval_tokens_per_s", MetricsRecords.round1(tokens / secs));
    log.write(m);
  }

  // ---- checkpoints ------------------------------------------------------------------------------

  private void writeModel(Path dir) throws IOException {
    model.saveHf(dir, content.saveDtype());
    // a LoRA run writes a PEFT adapter directory: no config.json (the base model's stays with the base)
    if (Files.isRegularFile(dir.resolve("config.json"))) Checkpoints.patchHfConfig(dir.resolve("config.json"), content.pad());
    Checkpoints.copyFiles(content.tokenizerFiles(), dir);
    Checkpoints.patchTokenizerPad(dir, content.pad());
    Checkpoints.writeJson(dir.resolve(Checkpoints.MANIFEST), manifest());
  }

  private Map<String, Object> manifest() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("format", "rewardkit");
    m.put("format_version", 1);
    m.putAll(content.manifest());
    Map<String, Object> loss = new LinkedHashMap<>();
    loss.put("loss_type", cfg.lossType);
    if (spec.lossType() == RewardLossSpec.FOCAL) loss.put("focal_gamma", cfg.focalGamma);
    loss.put("penalty_type", cfg.penaltyType);
    loss.put("penalty_weight", spec.penaltyWeight());
    if (spec.penaltyType() == RewardLossSpec.LOG_BARRIER) loss.put("penalty_bounds", List.of(cfg.penaltyLower, cfg.penaltyUpper));
    loss.put("center_rewards_coefficient", cfg.centerRewardsCoefficient);
    m.put("loss", loss);
    m.put("global_step", globalStep);
    if (lastEval != null) {
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("eval_pairs", lastEval.numPairs());
      r.put("eval_step", lastEvalStep);
      r.put("mean", lastEval.meanReward());
      r.put("std", lastEval.rewardStd());
      r.put("min", lastEval.minReward());
      r.put("max", lastEval.maxReward());
      r.put("eval_accuracy", lastEval.accuracy());
      m.put("reward_stats", r);
    }
    m.put("max_length", cfg.maxLength);
    m.put("max_tokens_per_batch", cfg.maxTokensPerBatch);
    m.put("seed", cfg.seed);
    return m;
  }

  private void saveCheckpoint(AdamWOptimizer opt) throws IOException {
    if (eval != null && lastEvalStep != globalStep) {
      // reward stats in the manifest describe this checkpoint's weights
      lastEval = Evaluator.evaluate(model, eval.evalBatches(), spec, eval.datasetNames());
      lastEvalStep = globalStep;
    }
    Path target = outputDir.resolve("checkpoint-" + globalStep);
    Checkpoints.writeAtomically(target, dir -> {
      writeModel(dir);
      opt.save(dir.resolve(Checkpoints.OPTIMIZER));
      pause("rewardkit.test.saveDelayMs");
      Map<String, Object> st = new LinkedHashMap<>();
      st.put("global_step", globalStep);
      st.put("epoch", epoch);
      st.put("batch_in_epoch", batchInEpoch);
      st.put("num_tokens", numTokens);
      st.put("optimizer_step", opt.step());
      st.put("total_steps", totalSteps());
      // All randomness of a run is derived from the seed: weights at init, data order from (seed, epoch).
      st.put("rng", Map.of("seed", cfg.seed, "data_order", "derived from (seed, epoch)"));
      st.put("log_window", window.toJson());
      st.put("last_eval_step", lastEvalStep);
      st.put("config", TrainConfig.MAPPER.readTree(cfg.toJson()));
      Map<String, Object> fp = dataFingerprint();
      if (!fp.isEmpty()) st.put("data_fingerprint", fp);
      Checkpoints.writeJson(dir.resolve(Checkpoints.TRAINER_STATE), st);
    });
    Checkpoints.prune(outputDir, cfg.saveTotalLimit);
    if (run.staged()) {
      run.promote(console);
      outputDir = run.work();
    }
  }

  /** Fingerprints of the encoded train/eval sets (content, split, layout), where the sources have one. */
  private Map<String, Object> dataFingerprint() {
    Map<String, Object> fp = new LinkedHashMap<>();
    if (train.fingerprint() != null) fp.put("train", train.fingerprint());
    if (eval != null && eval.fingerprint() != null) fp.put("eval", eval.fingerprint());
    return fp;
  }

  /**
   * Fault-injection hooks for the kill -9 tests: -Drewardkit.test.saveDelayMs=N sleeps inside every
   * save, stepDelayMs after every micro-batch, evalDelayMs before every eval, reportDelayMs before
   * the report, so a test can kill inside each phase; -Drewardkit.test.phaseLog=FILE appends the
   * phase's name to FILE before each such pause (the test waits for it, then kills).
   * -Drewardkit.test.crashAfterStep=N throws after step N (an in-process crash).
   */
  private static void pause(String property) {
    long ms = Long.getLong(property, 0);
    String phaseLog = System.getProperty("rewardkit.test.phaseLog");
    if (ms > 0 && phaseLog != null) {
      try {
        Files.writeString(Path.of(phaseLog), property.replaceAll("^rewardkit\\.test\\.|DelayMs$", "") + "\n",
            java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    if (ms > 0) {
      try {
        Thread.sleep(ms);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private Path resumeCheckpoint(Path dir) {
    return ResumePoint.checkpoint(cfg, dir, console);
  }

  /**
   * Refuses a resume that would not continue the run that was started: options other than
   * {@link TrainConfig#MAY_CHANGE_ON_RESUME} must equal the checkpoint's, and the training and
   * eval data must have the fingerprints recorded there. Allowed changes are applied and logged.
   */
  private void checkSameRun(ObjectNode st, Path ckpt) {
    ResumePoint.checkOptions(st, ckpt, cfg, console);
    if (st.get("data_fingerprint") instanceof ObjectNode fp) {
      Map<String, Object> now = dataFingerprint();
      for (String k : List.of("train", "eval")) {
        Object after = now.get(k);
        ResumePoint.checkData(ckpt, k.equals("train") ? "training" : "evaluation", fp.path(k).asText(null),
            after == null ? null : after.toString());
      }
    }
  }

  private void restore(ObjectNode st, Path ckpt, AdamWOptimizer opt) throws IOException {
    globalStep = st.get("global_step").asLong();
    epoch = st.get("epoch").asInt();
    batchInEpoch = st.get("batch_in_epoch").asInt();
    numTokens = st.get("num_tokens").asLong();
    lastEvalStep = st.get("last_eval_step").asLong();
    window.fromJson((ObjectNode) st.get("log_window"));
    opt.load(ckpt.resolve(Checkpoints.OPTIMIZER), st.get("optimizer_step").asLong());
  }

  public EvalResult lastEval() { return lastEval; }
}
