package io.rewardkit.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.BuildInfo;
import io.rewardkit.data.DataOptions.Layout;
import io.rewardkit.data.EncodedDataset;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.PreferenceLossInputs;
import io.rewardkit.kernels.PreferenceLossSpec;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.TrainableModel;
import io.rewardkit.report.MetricsRecords;
import io.rewardkit.report.PolicyReport;
import io.rewardkit.train.AdamWOptimizer;
import io.rewardkit.train.Checkpoints;
import io.rewardkit.train.LrSchedule;
import io.rewardkit.train.MetricsLog;
import io.rewardkit.train.RunDirectory;
import io.rewardkit.train.TrainConfig;
import io.rewardkit.train.TrainingDivergedException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Direct preference optimisation of a {@link PolicyModel} on the reward model's packed pairs: per micro-batch
 * (one packing bin; one optimizer step each) the policy's response log-probs, the fused preference loss
 * ({@link Backend#preferenceLoss}) against reference log-probs computed once before training
 * ({@link ReferenceLogps}), backward, global-norm clipping and AdamW. Logs TRL's metric names to
 * {@code metrics.jsonl}, evaluates held-out pairs (preference accuracy by implicit reward, log-prob margins) every
 * {@code --eval_steps} and at the end, saves {@code checkpoint-<step>/} every {@code --save_steps} and at the end
 * (HF {@code *ForCausalLM} or, with LoRA, the PEFT adapter; optimizer state, loop state, the reference log-probs; at most
 * {@code --save_total_limit} kept), writes {@code final/} and the report.
 *
 * <p>Resume is exact: the data order is a function of (seed, epoch), the CPU kernels are deterministic and every
 * piece of loop state (AdamW moments and weights of both arenas, step, data position, logging window, token and
 * pair counts) is saved bit-exactly, so a run stopped at step k and resumed writes the same weights and the same
 * metrics (wall-clock fields aside) as one that was never stopped. The reference log-probs are read back from
 * the checkpoint (checked against the data's fingerprint and their recorded SHA-256), never recomputed.
 *
 * <p>KTO estimates TRL's batch KL (mean over the bin's mismatched rows of log π − log π_ref, clamped at 0,
 * detached) from {@link PolicyBatches#klBatch}: the policy's side each step, the reference's from the reference
 * pass ({@link ReferenceLogps#kl}).
 *
 * <p>Not (yet) what reward-model training has: gradient accumulation across bins.
 */
public final class PolicyTrainer {
  /** The lm_head arena's optimizer state in a checkpoint (untied heads). */
  public static final String HEAD_OPTIMIZER = "optimizer_lm_head.safetensors";
  public static final String REF_TRAIN = "ref_logps_train.json", REF_EVAL = "ref_logps_eval.json";

  private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
  private final TrainConfig c;
  private final PolicyModel policy;
  private final EncodedDataset train, eval;
  private final ReferenceLogps refTrain, refEval;
  private final PreferenceLossSpec spec;
  private final Layout layout;
  private final PrintStream out;
  private RunDirectory run;           // promoted after the first checkpoint (an overwrite's staging directory)
  private Path resumed;               // the checkpoint continued from, or null
  private ObjectNode resumedState;
  private Map<String, Object> runInfo = Map.of();

  // ---- loop state (saved in trainer_state.json) ----
  private long step, tokens, pairs;
  private int epoch, batchInEpoch;
  private final double[] window = new double[PreferenceLossSpec.NUM_STATS];
  private final int[] windowCount = new int[PreferenceLossSpec.NUM_STATS];
  private double windowGradNorm;
  private int windowSteps;
  private long lastEvalStep = -1;

  /** What a run did: steps, tokens, seconds, the last train window and the final eval (TRL names), where final/ is. */
  public record Result(long steps, long tokens, double seconds, Map<String, Object> lastTrain, Map<String, Object> eval,
      Path finalDir) {}

  public PolicyTrainer(TrainConfig c, PolicyModel policy, EncodedDataset train, EncodedDataset eval,
      ReferenceLogps refTrain, ReferenceLogps refEval, PrintStream out) {
    this.c = c;
    this.policy = policy;
    this.train = train;
    this.eval = eval;
    this.refTrain = refTrain;
    this.refEval = refEval;
    this.spec = spec(c);
    this.layout = train.options().layout();
    this.out = out;
  }

  /** The locked run directory: the first checkpoint promotes an overwrite's staging directory. */
  public PolicyTrainer in(RunDirectory dir) { this.run = dir; return this; }

  /** Continues the run saved in {@code checkpoint} (its trainer_state.json already read and checked). */
  public PolicyTrainer resumeFrom(Path checkpoint, ObjectNode state) {
    this.resumed = checkpoint;
    this.resumedState = state;
    return this;
  }

  /** Model, datasets and data counts for the run_start record (copied as given). */
  public PolicyTrainer describe(Map<String, Object> info) { this.runInfo = info; return this; }

  /** The tokenizer's files (name -> source) copied into every checkpoint and final/, so AutoTokenizer loads them. */
  public PolicyTrainer withTokenizerFiles(Map<String, Path> files) { this.tokenizerFiles = Map.copyOf(files); return this; }

  private Map<String, Path> tokenizerFiles = Map.of();

  private void savePolicy(Path dir) throws IOException {
    policy.save(dir);
    Checkpoints.copyFiles(tokenizerFiles, dir);
  }

  /** The loss configuration of a run's options (TRL's names). */
  public static PreferenceLossSpec spec(TrainConfig c) {
    int type = PreferenceLossSpec.TASKS.indexOf(c.task);
    if (type < 0) throw new IllegalArgumentException("--task " + c.task + " is not a preference task");
    double nllAlpha = type == PreferenceLossSpec.DPO ? c.rpoAlpha : c.cpoAlpha;
    return new PreferenceLossSpec(type, c.beta, c.labelSmoothing, nllAlpha, c.simpoGamma, c.desirableWeight,
        c.undesirableWeight);
  }

  public long totalSteps() { return totalSteps(c, train); }

  /** Optimizer steps of a run: --max_steps, else --num_train_epochs of the training set's bins (one per step). */
  public static long totalSteps(TrainConfig c, EncodedDataset train) {
    return c.maxSteps > 0 ? c.maxSteps : Math.max(1, (long) Math.ceil(c.numTrainEpochs * train.numBatches(0)));
  }

  /** (epoch, bin) of each of a run's {@code total} optimizer steps, in order (the bins of epoch e: plan(e)). */
  public static List<int[]> trainBins(EncodedDataset train, Layout layout, long total) {
    List<int[]> out = new ArrayList<>();
    for (int e = 0; out.size() < total; e++) {
      int n = train.plan(e, layout).length;
      if (n == 0) throw new io.rewardkit.RewardKitException("the training set produced no batches");
      for (int k = 0; k < n && out.size() < total; k++) out.add(new int[] {e, k});
    }
    return out;
  }

  /** (0, bin) of each eval bin. */
  public static List<int[]> evalBins(EncodedDataset eval, Layout layout) {
    List<int[]> out = new ArrayList<>();
    for (int k = 0; k < eval.plan(0, layout).length; k++) out.add(new int[] {0, k});
    return out;
  }

  public Result train(Path outputDir) throws IOException {
    Path work = outputDir;
    Backend be = policy.backend();
    long total = totalSteps();
    LrSchedule lr = LrSchedule.of(c, total);
    // The arena optimizer works on one parameter arena: the decoder's (its unused score head included: zero
    // gradient, never saved), and the untied lm_head as a second one; one global norm over both. With LoRA: the
    // adapters' arena alone (base and LM head frozen; the moved score head's slot there has zero gradient).
    io.rewardkit.model.lora.LoraAdapters ad = policy.adapters();
    List<TrainableModel.Param> decoderParams = new ArrayList<>();
    if (ad == null) {
      for (io.rewardkit.model.Parameter p : policy.decoder().parameters()) {
        decoderParams.add(new TrainableModel.Param(p.hfName(), p.weight(), p.grad(), p.decay()));
      }
    }
    AdamWOptimizer opt = ad != null
        ? new AdamWOptimizer(be, ad.weights(), ad.grads(), policy.params(), c.adamBeta1, c.adamBeta2, c.adamEpsilon, c.weightDecay)
        : new AdamWOptimizer(be, policy.decoder().weights(), policy.decoder().grads(), decoderParams,
            c.adamBeta1, c.adamBeta2, c.adamEpsilon, c.weightDecay);
    AdamWOptimizer headOpt = policy.tied() || ad != null ? null : new AdamWOptimizer(be, policy.lmHeadWeight(), policy.lmHeadGrad(),
        List.of(new TrainableModel.Param("lm_head.weight", policy.lmHeadWeight(), policy.lmHeadGrad(), true)),
        c.adamBeta1, c.adamBeta2, c.adamEpsilon, c.weightDecay);
    if (resumed != null) restore(opt, headOpt);
    long t0 = System.nanoTime(), startTokens = tokens, startPairs = pairs;
    long windowTokens = 0, windowPairs = 0, windowStart = t0;
    Map<String, Object> lastTrain = null, lastEval = null;
    List<Map<String, Object>> history;
    try (MetricsLog log = new MetricsLog(work.resolve("metrics.jsonl"), resumed == null ? -1 : step)) {
      log.write(runStart(t0, total));
      if (resumed != null) {
        out.printf(Locale.ROOT, "resumed from %s at step %d of %d (epoch %d, bin %d)%n", resumed, step, total, epoch, batchInEpoch);
      }
      while (step < total) {
        int[][] plan = train.plan(epoch, layout);
        if (batchInEpoch >= plan.length) {
          epoch++;
          batchInEpoch = 0;
          continue;
        }
        List<PackedBatch> batches = train.batches(epoch, layout);
        for (; batchInEpoch < plan.length && step < total; ) {
          PackedBatch b = batches.get(batchInEpoch);
          policy.zeroGrad();
          double[] stats = step(b, plan[batchInEpoch], refTrain, true, null, step);
          double norm = headOpt == null ? opt.gradNorm() : Math.hypot(opt.gradNorm(), headOpt.gradNorm());
          if (!Double.isFinite(norm) || !Double.isFinite(stats[PreferenceLossSpec.LOSS])) {
            java.util.Optional<Path> good = Checkpoints.latest(work);
            throw new TrainingDivergedException(step + 1, "training diverged at step " + (step + 1) + " (epoch " + epoch
                + ", bin " + batchInEpoch + "): loss " + stats[0] + ", grad_norm " + norm + " (not finite). Stopped; "
                + good.map(p -> "the last good checkpoint is " + p + " (continue with --resume " + p + " and a lower --learning_rate)")
                    .orElse("no checkpoint was saved before this step."));
          }
          double clip = AdamWOptimizer.clipScale(norm, c.maxGradNorm);
          opt.update(lr.lr(step), clip);
          if (headOpt != null) headOpt.update(lr.lr(step), clip);
          step++;
          batchInEpoch++;
          tokens += b.numTokens();
          windowTokens += b.numTokens();
          pairs += b.numPairs();
          windowPairs += b.numPairs();
          for (int i = 0; i < stats.length; i++) {
            if (!Double.isNaN(stats[i])) { window[i] += stats[i]; windowCount[i]++; }
          }
          windowGradNorm += norm;
          windowSteps++;
          if (step == Long.getLong("rewardkit.test.crashAfterStep", -1)) {
            throw new IllegalStateException("simulated crash after step " + step + " (rewardkit.test.crashAfterStep)");
          }
          boolean last = step == total;
          if (step % c.loggingSteps == 0 || last) {
            long now = System.nanoTime();
            Map<String, Object> r = MetricsRecords.start(MetricsRecords.TRAIN);
            r.put("global_step", step);
            for (int i = 0; i < stats.length; i++) {
              if (windowCount[i] > 0) r.put(PreferenceLossSpec.METRIC_NAMES.get(i), window[i] / windowCount[i]);
            }
            r.put("learning_rate", lr.lr(step - 1));
            r.put("grad_norm", windowGradNorm / windowSteps);
            r.put("epoch", epoch + (double) batchInEpoch / plan.length);
            r.put("num_tokens", tokens);
            r.put("num_pairs", pairs);
            MetricsRecords.stamp(r, t0);
            double secs = Math.max(1e-9, (now - windowStart) / 1e9);
            r.put("tokens_per_s", MetricsRecords.round1(windowTokens / secs));
            // packed tokens differ between layouts (shared prefix: the prompt once); pairs/s compares them
            r.put("pairs_per_s", MetricsRecords.round3(windowPairs / secs));
            log.write(r);
            lastTrain = r;
            out.printf(Locale.ROOT, "step %d/%d  loss %.4f  rewards/accuracies %s  rewards/margins %s  %.0f tokens/s%n", step,
                total, (double) r.get("loss"), fmt(r.get("rewards/accuracies")), fmt(r.get("rewards/margins")),
                (double) r.get("tokens_per_s"));
            Arrays.fill(window, 0);
            Arrays.fill(windowCount, 0);
            windowGradNorm = 0;
            windowSteps = 0;
            windowTokens = 0;
            windowPairs = 0;
            windowStart = now;
          }
          if (eval != null && ((c.evalSteps > 0 && step % c.evalSteps == 0) || last)) {
            lastEval = evaluate(step, t0, epoch + (double) batchInEpoch / plan.length);
            log.write(lastEval);
            lastEvalStep = step;
          }
          if ((c.saveSteps > 0 && step % c.saveSteps == 0) || last) {
            saveCheckpoint(work, opt, headOpt, total);
            if (run != null && run.staged()) {
              run.promote(out);
              work = run.work();
            }
          }
        }
      }
      if (lastTrain == null) lastTrain = MetricsRecords.last(log.history(), MetricsRecords.TRAIN);
      if (lastEval == null && eval != null) {
        // resumed at the very end: this step's eval is in the log already
        lastEval = lastEvalStep == step ? MetricsRecords.last(log.history(), MetricsRecords.EVAL) : null;
        if (lastEval == null) {
          lastEval = evaluate(step, t0, epoch);
          log.write(lastEval);
          lastEvalStep = step;
        }
      }
      log.write(runEnd(t0, startTokens, startPairs, lastTrain, lastEval));
      history = List.copyOf(log.history());
    }
    Path fin = work.resolve("final");
    Checkpoints.writeAtomically(fin, this::savePolicy);
    double secs = (System.nanoTime() - t0) / 1e9;
    if (c.report) {
      Path html = PolicyReport.write(work.resolve("report"), history, "RewardKit policy training report (--task " + c.task + ")");
      out.println("report: " + html.toAbsolutePath().normalize());
    }
    return new Result(step, tokens - startTokens, secs, lastTrain, lastEval, fin);
  }

  private Map<String, Object> runStart(long t0, long total) throws IOException {
    Map<String, Object> m = MetricsRecords.start(MetricsRecords.RUN_START);
    m.put("global_step", step);
    m.put("rewardkit_version", BuildInfo.version());
    m.put("commit", BuildInfo.commit());
    m.put("backend", policy.backend().name());
    m.put("matmul_precision", policy.backend().matmulPrecision());
    if (c.threads > 0) m.put("threads", c.threads);
    m.put("task", c.task);
    m.put("layout", layout.name().toLowerCase(Locale.ROOT));
    m.putAll(runInfo);
    Map<String, Object> data = new LinkedHashMap<>();
    if (runInfo.get("data") instanceof Map<?, ?> given) given.forEach((k, v) -> data.put(String.valueOf(k), v));
    data.put("train_pairs", train.size());
    data.put("eval_pairs", eval == null ? 0 : eval.size());
    data.put("train_micro_batches_per_epoch", train.numBatches(0));
    m.put("data", data);
    m.put("train_pairs", train.size());
    m.put("eval_pairs", eval == null ? 0 : eval.size());
    m.put("total_steps", total);
    m.put("resumed_from", resumed == null ? null : resumed.toString());
    ObjectNode options = (ObjectNode) JSON.readTree(c.toJson());
    m.put("options_sha256", io.rewardkit.train.Trainer.optionsFingerprint(options));
    m.put("options", JSON.convertValue(options, LinkedHashMap.class));
    MetricsRecords.stamp(m, t0);
    return m;
  }

  private Map<String, Object> runEnd(long t0, long startTokens, long startPairs, Map<String, Object> lastTrain,
      Map<String, Object> lastEval) {
    Map<String, Object> m = MetricsRecords.start(MetricsRecords.RUN_END);
    m.put("global_step", step);
    m.put("num_tokens", tokens);
    m.put("num_pairs", pairs);
    Map<String, Object> fin = new LinkedHashMap<>();
    if (lastTrain != null) {
      Map<String, Object> t = new LinkedHashMap<>();
      lastTrain.forEach((k, v) -> { if (!MetricsRecords.WALL_CLOCK.contains(k) && !k.equals(MetricsRecords.KIND)) t.put(k, v); });
      fin.put("train", t);
    }
    if (lastEval != null) {
      Map<String, Object> e = new LinkedHashMap<>();
      lastEval.forEach((k, v) -> { if (!MetricsRecords.WALL_CLOCK.contains(k) && !k.equals(MetricsRecords.KIND)) e.put(k, v); });
      fin.put("eval", e);
    }
    m.put("final", fin);
    double secs = Math.max(1e-9, (System.nanoTime() - t0) / 1e9);
    MetricsRecords.stamp(m, t0);
    m.put("train_runtime", MetricsRecords.round3(secs));
    m.put("tokens_per_s", MetricsRecords.round1((tokens - startTokens) / secs));
    m.put("pairs_per_s", MetricsRecords.round3((pairs - startPairs) / secs));
    return m;
  }

  /**
   * Held-out pairs: the loss and TRL's metrics over all of them (pair-weighted means of the batches'), the
   * preference accuracy by implicit reward ({@code eval_rewards/accuracies}: chosen's implicit reward above the
   * rejected's) with its count, and the policy's log-prob margin Σ log π(chosen) − Σ log π(rejected)
   * ({@code eval_logps/margins}).
   */
  public Map<String, Object> evaluate(long atStep, long t0, double epochProgress) {
    double[] sum = new double[PreferenceLossSpec.NUM_STATS];
    int[] n = new int[PreferenceLossSpec.NUM_STATS];
    long start = System.nanoTime(), evalTokens = 0;
    int[][] plan = eval.plan(0, layout);
    List<PackedBatch> batches = eval.batches(0, layout);
    double[] logpMargin = new double[1];
    for (int k = 0; k < plan.length; k++) {
      double[] stats = step(batches.get(k), plan[k], refEval, false, logpMargin, k);
      int np = batches.get(k).numPairs();
      for (int i = 0; i < stats.length; i++) {
        if (!Double.isNaN(stats[i])) { sum[i] += stats[i] * np; n[i] += np; }
      }
      evalTokens += batches.get(k).numTokens();
    }
    Map<String, Object> r = MetricsRecords.start(MetricsRecords.EVAL);
    r.put("global_step", atStep);
    r.put("epoch", epochProgress);
    for (int i = 0; i < sum.length; i++) if (n[i] > 0) r.put("eval_" + PreferenceLossSpec.METRIC_NAMES.get(i), sum[i] / n[i]);
    r.put("eval_logps/margins", logpMargin[0] / eval.size());
    if (r.get("eval_rewards/accuracies") instanceof Double acc) {
      long correct = Math.round(acc * eval.size());
      r.put("eval_correct", correct);
      r.put("eval_binomial_p", binomialUpperTail(correct, eval.size()));
    }
    r.put("eval_pairs", eval.size());
    MetricsRecords.stamp(r, t0);
    double secs = Math.max(1e-9, (System.nanoTime() - start) / 1e9);
    r.put("eval_runtime", MetricsRecords.round3(secs));
    r.put("eval_tokens_per_s", MetricsRecords.round1(evalTokens / secs));
    out.printf(Locale.ROOT, "eval at step %d: %d pairs, loss %.4f, rewards/accuracies %s (p %s against chance), rewards/margins %s, logps/margins %s%n",
        atStep, eval.size(), (double) r.get("eval_loss"), fmt(r.get("eval_rewards/accuracies")), fmt(r.get("eval_binomial_p")),
        fmt(r.get("eval_rewards/margins")), fmt(r.get("eval_logps/margins")));
    return r;
  }

  /**
   * One-sided binomial test against chance: P(X >= k) for X ~ Binomial(n, 1/2), summed in log space (exact for the
   * eval sizes here).
   */
  public static double binomialUpperTail(long k, long n) {
    if (k <= 0) return 1;
    double p = 0, logHalfN = n * Math.log(0.5), logC = 0;  // log C(n, 0)
    for (long i = 0; i <= n; i++) {
      if (i > 0) logC += Math.log((double) (n - i + 1) / i);
      if (i >= k) p += Math.exp(logC + logHalfN);
    }
    return Math.min(1, p);
  }

  /**
   * Forward (+ backward when training) of one bin, the {@code klIndex}-th of its kind (KTO: which of the
   * reference's KL-row log-probs belong to it); returns the loss op's stats; adds Σ logp margins to
   * {@code logpMargin}.
   */
  private double[] step(PackedBatch b, int[] bin, ReferenceLogps ref, boolean backward, double[] logpMargin, long klIndex) {
    EncodedDataset ds = backward ? train : eval;
    int np = bin.length, s = 2 * np;
    int[] promptLengths = new int[np];
    for (int k = 0; k < np; k++) promptLengths[k] = ds.promptLength(bin[k]);
    boolean kto = spec.lossType() == PreferenceLossSpec.KTO, orpo = spec.lossType() == PreferenceLossSpec.ORPO;
    double[] klPolicy = null, klRef = kto && ref != null ? ref.kl(klIndex) : null;
    if (klRef != null) {
      // TRL's KTO KL estimate: the policy on the bin's mismatched rows, no gradient (the op detaches it); run
      // before the bin's own forward, whose activations the backward needs
      PolicyBatches.KlBatch kb = PolicyBatches.klBatch(b, promptLengths, layout == Layout.SHARED_PREFIX);
      klPolicy = policy.forward(kb.batch(), kb.targets()).response().clone();
      if (klPolicy.length != klRef.length) {
        throw new io.rewardkit.RewardKitException("reference KL log-probs of bin " + klIndex + " have " + klRef.length
            + " rows, the bin " + klPolicy.length + " (other data or options than the reference pass)");
      }
    }
    PolicyTargets t = PolicyTargets.of(b, promptLengths);
    PolicyHead.Logps lp = policy.forward(b, t);
    double[] refLogps = new double[s];
    int[] chosen = new int[np], rejected = new int[np], labels = new int[s];
    for (int k = 0; k < np; k++) {
      chosen[k] = b.chosen()[k];
      rejected[k] = b.rejected()[k];
      labels[chosen[k]] = 1;
      if (ref != null) {
        refLogps[chosen[k]] = ref.chosen(bin[k]);
        refLogps[rejected[k]] = ref.rejected(bin[k]);
      }
      if (logpMargin != null) logpMargin[0] += lp.response()[chosen[k]] - lp.response()[rejected[k]];
    }
    try (Tensor d = Tensor.host(DType.F64, s); Tensor dp = Tensor.host(DType.F64, s)) {
      double[] stats = policy.backend().preferenceLoss(new PreferenceLossInputs(Tensor.hostOf(lp.response(), s),
          spec.needsReference() ? Tensor.hostOf(refLogps, s) : null, Tensor.hostOf(t.lengths(), s),
          orpo ? Tensor.hostOf(lp.prompt(), s) : null, orpo ? Tensor.hostOf(t.promptLengths(), s) : null,
          kto ? null : Tensor.hostOf(chosen, np), kto ? null : Tensor.hostOf(rejected, np),
          kto ? Tensor.hostOf(labels, s) : null, klPolicy == null ? null : Tensor.hostOf(klPolicy, klPolicy.length),
          klRef == null ? null : Tensor.hostOf(klRef, klRef.length), backward ? d : null, backward && orpo ? dp : null), spec, 1.0);
      if (backward) policy.backward(d.toDoubleArray(), orpo ? dp.toDoubleArray() : null);
      return stats;
    }
  }

  // ---- checkpoints ------------------------------------------------------------------------------

  private void saveCheckpoint(Path work, AdamWOptimizer opt, AdamWOptimizer headOpt, long total) throws IOException {
    Path target = work.resolve("checkpoint-" + step);
    Checkpoints.writeAtomically(target, dir -> {
      savePolicy(dir);
      opt.save(dir.resolve(Checkpoints.OPTIMIZER));
      if (headOpt != null) headOpt.save(dir.resolve(HEAD_OPTIMIZER));
      if (refTrain != null) refTrain.save(dir.resolve(REF_TRAIN));
      if (refEval != null) refEval.save(dir.resolve(REF_EVAL));
      Map<String, Object> st = new LinkedHashMap<>();
      st.put("task", c.task);
      st.put("global_step", step);
      st.put("epoch", epoch);
      st.put("batch_in_epoch", batchInEpoch);
      st.put("num_tokens", tokens);
      st.put("num_pairs", pairs);
      st.put("optimizer_step", opt.step());
      st.put("total_steps", total);
      st.put("rng", Map.of("seed", c.seed, "data_order", "derived from (seed, epoch)"));
      Map<String, Object> w = new LinkedHashMap<>();
      w.put("sums", window.clone());
      w.put("counts", windowCount.clone());
      w.put("grad_norm_sum", windowGradNorm);
      w.put("steps", windowSteps);
      st.put("log_window", w);
      st.put("last_eval_step", lastEvalStep);
      st.put("config", JSON.readTree(c.toJson()));
      Map<String, Object> fp = new LinkedHashMap<>();
      fp.put("train", train.fingerprint());
      if (eval != null) fp.put("eval", eval.fingerprint());
      st.put("data_fingerprint", fp);
      if (refTrain != null) {
        Map<String, Object> ref = new LinkedHashMap<>();
        ref.put("reference", refTrain.reference());
        ref.put("train_sha256", refTrain.sha256());
        if (refEval != null) ref.put("eval_sha256", refEval.sha256());
        st.put("ref_logps", ref);
      }
      Checkpoints.writeJson(dir.resolve(Checkpoints.TRAINER_STATE), st);
    });
    Checkpoints.prune(work, c.saveTotalLimit);
  }

  private void restore(AdamWOptimizer opt, AdamWOptimizer headOpt) throws IOException {
    ObjectNode st = resumedState;
    step = st.get("global_step").asLong();
    epoch = st.get("epoch").asInt();
    batchInEpoch = st.get("batch_in_epoch").asInt();
    tokens = st.get("num_tokens").asLong();
    pairs = st.get("num_pairs").asLong();
    lastEvalStep = st.get("last_eval_step").asLong();
    JsonNode w = st.get("log_window");
    for (int i = 0; i < window.length; i++) {
      window[i] = w.get("sums").get(i).asDouble();
      windowCount[i] = w.get("counts").get(i).asInt();
    }
    windowGradNorm = w.get("grad_norm_sum").asDouble();
    windowSteps = w.get("steps").asInt();
    long optStep = st.get("optimizer_step").asLong();
    opt.load(resumed.resolve(Checkpoints.OPTIMIZER), optStep);
    if (headOpt != null) {
      if (!Files.isRegularFile(resumed.resolve(HEAD_OPTIMIZER))) {
        throw new io.rewardkit.RewardKitException("--resume " + resumed + ": no " + HEAD_OPTIMIZER + " (the policy has an untied lm_head)");
      }
      headOpt.load(resumed.resolve(HEAD_OPTIMIZER), optStep);
    }
  }

  private static String fmt(Object v) {
    return v instanceof Number x ? String.format(Locale.ROOT, "%.4f", x.doubleValue()) : "-";
  }
}
