package io.rewardkit.policy;

import io.rewardkit.data.DataOptions.Layout;
import io.rewardkit.data.EncodedDataset;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.PreferenceLossInputs;
import io.rewardkit.kernels.PreferenceLossSpec;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.TrainableModel;
import io.rewardkit.train.AdamWOptimizer;
import io.rewardkit.train.LrSchedule;
import io.rewardkit.train.MetricsLog;
import io.rewardkit.train.TrainConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Direct preference optimisation of a {@link PolicyModel} on the reward model's packed pairs: per micro-batch
 * (one packing bin; one optimizer step each) the policy's response log-probs, the fused preference loss
 * ({@link Backend#preferenceLoss}) against reference log-probs computed once before training
 * ({@link ReferenceLogps}), backward, global-norm clipping and AdamW. Logs TRL's metric names to
 * {@code metrics.jsonl}, evaluates held-out pairs (preference accuracy by implicit reward, margins) and writes
 * {@code final/} as an HF {@code *ForCausalLM}.
 *
 * <p>Not (yet) what reward-model training has: intermediate checkpoints and --resume, the HTML report, gradient
 * accumulation across bins, KTO's KL estimate (z = 0 in training; the op and its TRL check have it).
 */
public final class PolicyTrainer {
  private final TrainConfig c;
  private final PolicyModel policy;
  private final EncodedDataset train, eval;
  private final ReferenceLogps refTrain, refEval;
  private final PreferenceLossSpec spec;
  private final Layout layout;
  private final PrintStream out;

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

  /** The loss configuration of a run's options (TRL's names). */
  public static PreferenceLossSpec spec(TrainConfig c) {
    int type = PreferenceLossSpec.TASKS.indexOf(c.task);
    if (type < 0) throw new IllegalArgumentException("--task " + c.task + " is not a preference task");
    double nllAlpha = type == PreferenceLossSpec.DPO ? c.rpoAlpha : c.cpoAlpha;
    return new PreferenceLossSpec(type, c.beta, c.labelSmoothing, nllAlpha, c.simpoGamma, c.desirableWeight,
        c.undesirableWeight);
  }

  public Result train(Path outputDir) throws IOException {
    Backend be = policy.backend();
    int batchesPerEpoch = train.numBatches(0);
    long total = c.maxSteps > 0 ? c.maxSteps : (long) Math.ceil(c.numTrainEpochs * batchesPerEpoch);
    LrSchedule lr = LrSchedule.of(c, total);
    // The arena optimizer works on one parameter arena: the decoder's (its unused score head included: zero
    // gradient, never saved), and the untied lm_head as a second one; one global norm over both.
    List<TrainableModel.Param> decoderParams = new java.util.ArrayList<>();
    for (io.rewardkit.model.Parameter p : policy.decoder().parameters()) {
      decoderParams.add(new TrainableModel.Param(p.hfName(), p.weight(), p.grad(), p.decay()));
    }
    AdamWOptimizer opt = new AdamWOptimizer(be, policy.decoder().weights(), policy.decoder().grads(), decoderParams,
        c.adamBeta1, c.adamBeta2, c.adamEpsilon, c.weightDecay);
    AdamWOptimizer headOpt = policy.tied() ? null : new AdamWOptimizer(be, policy.lmHeadWeight(), policy.lmHeadGrad(),
        List.of(new TrainableModel.Param("lm_head.weight", policy.lmHeadWeight(), policy.lmHeadGrad(), true)),
        c.adamBeta1, c.adamBeta2, c.adamEpsilon, c.weightDecay);
    long t0 = System.nanoTime(), tokens = 0, windowTokens = 0, windowStart = t0, pairs = 0, windowPairs = 0;
    Map<String, Object> lastTrain = null;
    double[] window = new double[PreferenceLossSpec.NUM_STATS];
    int[] windowCount = new int[PreferenceLossSpec.NUM_STATS];
    double windowGradNorm = 0;
    int windowSteps = 0;
    try (MetricsLog log = new MetricsLog(outputDir.resolve("metrics.jsonl"), 0)) {
      Map<String, Object> start = record("run_start", 0, t0);
      start.put("task", c.task);
      start.put("layout", layout.name().toLowerCase(Locale.ROOT));
      start.put("train_pairs", train.size());
      start.put("eval_pairs", eval == null ? 0 : eval.size());
      start.put("total_steps", total);
      start.put("options", c.values().asMap());
      log.write(start);
      long step = 0;
      for (int epoch = 0; step < total; epoch++) {
        int[][] plan = train.plan(epoch, layout);
        List<PackedBatch> batches = train.batches(epoch, layout);
        for (int k = 0; k < plan.length && step < total; k++) {
          PackedBatch b = batches.get(k);
          policy.zeroGrad();
          double[] stats = step(b, plan[k], refTrain, true);
          double norm = headOpt == null ? opt.gradNorm() : Math.hypot(opt.gradNorm(), headOpt.gradNorm());
          if (!Double.isFinite(norm) || !Double.isFinite(stats[PreferenceLossSpec.LOSS])) {
            throw new io.rewardkit.train.TrainingDivergedException(step + 1, "step " + (step + 1) + ": loss " + stats[0]
                + ", grad_norm " + norm + " (not finite); lower --learning_rate");
          }
          double clip = AdamWOptimizer.clipScale(norm, c.maxGradNorm);
          opt.update(lr.lr(step), clip);
          if (headOpt != null) headOpt.update(lr.lr(step), clip);
          step++;
          tokens += b.numTokens();
          windowTokens += b.numTokens();
          pairs += b.numPairs();
          windowPairs += b.numPairs();
          for (int i = 0; i < stats.length; i++) {
            if (!Double.isNaN(stats[i])) { window[i] += stats[i]; windowCount[i]++; }
          }
          windowGradNorm += norm;
          windowSteps++;
          if (step % c.loggingSteps == 0 || step == total) {
            long now = System.nanoTime();
            Map<String, Object> r = record("train", step, t0);
            for (int i = 0; i < stats.length; i++) {
              if (windowCount[i] > 0) r.put(PreferenceLossSpec.METRIC_NAMES.get(i), window[i] / windowCount[i]);
            }
            r.put("learning_rate", lr.lr(step - 1));
            r.put("grad_norm", windowGradNorm / windowSteps);
            r.put("epoch", epoch + (double) (k + 1) / plan.length);
            r.put("num_tokens", tokens);
            r.put("num_pairs", pairs);
            r.put("tokens_per_s", windowTokens / ((now - windowStart) / 1e9));
            // packed tokens differ between layouts (shared prefix: the prompt once); pairs/s compares them
            r.put("pairs_per_s", windowPairs / ((now - windowStart) / 1e9));
            log.write(r);
            lastTrain = r;
            out.printf(Locale.ROOT, "step %d/%d  loss %.4f  rewards/accuracies %s  rewards/margins %s  %.0f tokens/s%n", step,
                total, (double) r.get("loss"), fmt(r.get("rewards/accuracies")), fmt(r.get("rewards/margins")),
                (double) r.get("tokens_per_s"));
            java.util.Arrays.fill(window, 0);
            java.util.Arrays.fill(windowCount, 0);
            windowGradNorm = 0;
            windowSteps = 0;
            windowTokens = 0;
            windowPairs = 0;
            windowStart = now;
          }
        }
      }
      Map<String, Object> ev = eval == null ? null : evaluate(step, t0);
      if (ev != null) log.write(ev);
      Path fin = outputDir.resolve("final");
      policy.saveHf(fin);
      double secs = (System.nanoTime() - t0) / 1e9;
      Map<String, Object> end = record("run_end", step, t0);
      end.put("num_tokens", tokens);
      end.put("num_pairs", pairs);
      end.put("train_runtime", secs);
      end.put("tokens_per_s", tokens / secs);
      end.put("pairs_per_s", pairs / secs);
      Map<String, Object> fin2 = new LinkedHashMap<>();
      if (lastTrain != null) fin2.put("train", lastTrain);
      if (ev != null) fin2.put("eval", ev);
      end.put("final", fin2);
      log.write(end);
      return new Result(step, tokens, secs, lastTrain, ev, fin);
    }
  }

  /** Held-out pairs: the loss and TRL's metrics over all of them (pair-weighted means of the batches'). */
  public Map<String, Object> evaluate(long step, long t0) {
    double[] sum = new double[PreferenceLossSpec.NUM_STATS];
    int[] n = new int[PreferenceLossSpec.NUM_STATS];
    long start = System.nanoTime(), tokens = 0;
    int[][] plan = eval.plan(0, layout);
    List<PackedBatch> batches = eval.batches(0, layout);
    for (int k = 0; k < plan.length; k++) {
      double[] stats = step(batches.get(k), plan[k], refEval, false);
      int pairs = batches.get(k).numPairs();
      for (int i = 0; i < stats.length; i++) {
        if (!Double.isNaN(stats[i])) { sum[i] += stats[i] * pairs; n[i] += pairs; }
      }
      tokens += batches.get(k).numTokens();
    }
    Map<String, Object> r = record("eval", step, t0);
    for (int i = 0; i < sum.length; i++) if (n[i] > 0) r.put("eval_" + PreferenceLossSpec.METRIC_NAMES.get(i), sum[i] / n[i]);
    r.put("eval_pairs", eval.size());
    double secs = (System.nanoTime() - start) / 1e9;
    r.put("eval_runtime", secs);
    r.put("eval_tokens_per_s", tokens / secs);
    out.printf(Locale.ROOT, "eval: %d pairs, loss %.4f, rewards/accuracies %s, rewards/margins %s%n", eval.size(),
        (double) r.get("eval_loss"), fmt(r.get("eval_rewards/accuracies")), fmt(r.get("eval_rewards/margins")));
    return r;
  }

  /** Forward (+ backward when training) of one bin; returns the loss op's stats. */
  private double[] step(PackedBatch b, int[] bin, ReferenceLogps ref, boolean backward) {
    EncodedDataset ds = backward ? train : eval;
    int np = bin.length, s = 2 * np;
    int[] promptLengths = new int[np];
    for (int k = 0; k < np; k++) promptLengths[k] = ds.promptLength(bin[k]);
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
    }
    boolean kto = spec.lossType() == PreferenceLossSpec.KTO, orpo = spec.lossType() == PreferenceLossSpec.ORPO;
    try (Tensor d = Tensor.host(DType.F64, s); Tensor dp = Tensor.host(DType.F64, s)) {
      double[] stats = policy.backend().preferenceLoss(new PreferenceLossInputs(Tensor.hostOf(lp.response(), s),
          spec.needsReference() ? Tensor.hostOf(refLogps, s) : null, Tensor.hostOf(t.lengths(), s),
          orpo ? Tensor.hostOf(lp.prompt(), s) : null, orpo ? Tensor.hostOf(t.promptLengths(), s) : null,
          kto ? null : Tensor.hostOf(chosen, np), kto ? null : Tensor.hostOf(rejected, np),
          kto ? Tensor.hostOf(labels, s) : null, null, null, backward ? d : null, backward && orpo ? dp : null), spec, 1.0);
      if (backward) policy.backward(d.toDoubleArray(), orpo ? dp.toDoubleArray() : null);
      return stats;
    }
  }

  private static Map<String, Object> record(String kind, long step, long t0) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("record", kind);
    r.put("global_step", step);
    r.put("timestamp", Instant.now().toString());
    r.put("elapsed_s", (System.nanoTime() - t0) / 1e9);
    return r;
  }

  private static String fmt(Object v) {
    return v instanceof Number x ? String.format(Locale.ROOT, "%.4f", x.doubleValue()) : "-";
  }
}
