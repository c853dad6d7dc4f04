package io.rewardkit.train;

import io.rewardkit.RewardKitException;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backend.RewardLossSpec;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.TrainableModel;
import java.util.List;

/**
 * One optimizer step of reward-model training, the only copy of it: {@link Trainer} runs it, {@code rewardkit bench}
 * times it, and anything else that trains (a server, a test) calls it the same way.
 *
 * <p>The sequence: zero the gradients; per micro-batch forward, the fused reward loss (its gradient weighted by the
 * micro-batch's share of the step's pairs, so the step minimises the mean loss over all its pairs however they were
 * split) and backward; the global gradient norm; one AdamW update with the gradient scaled by the clipping factor.
 * Nothing is updated when the loss or the norm is not finite ({@link NonFinite}).
 */
public final class TrainingStep {

  /** The step's pair-weighted loss statistics ({@link RewardLossSpec} indices) and its gradient norm before clipping. */
  public record Outcome(double[] stats, double gradNorm) {
    public double loss() { return stats[RewardLossSpec.LOSS]; }
  }

  /** A non-finite loss or gradient norm; the weights and optimizer state are as before the step. */
  public static final class NonFinite extends RuntimeException {
    private final transient List<PackedBatch> batches;

    NonFinite(String what, List<PackedBatch> batches) {
      super(what);
      this.batches = List.copyOf(batches);
    }

    /** The micro-batches involved: the one whose loss was not finite, or all of the step's for the norm. */
    public List<PackedBatch> batches() { return batches; }
  }

  private static final int[] WEIGHTED = {RewardLossSpec.LOSS, RewardLossSpec.PAIR_LOSS, RewardLossSpec.PENALTY,
      RewardLossSpec.CENTER, RewardLossSpec.ACCURACY, RewardLossSpec.MARGIN, RewardLossSpec.MEAN_REWARD,
      RewardLossSpec.CHOSEN_MEAN, RewardLossSpec.REJECTED_MEAN};

  private final TrainableModel model;
  private final Backend backend;
  private final RewardLossSpec spec;
  private final AdamWOptimizer optimizer;
  private final double maxGradNorm;
  private Runnable afterMicroBatch = () -> {};

  /** maxGradNorm <= 0 disables clipping. */
  public TrainingStep(TrainableModel model, RewardLossSpec spec, AdamWOptimizer optimizer, double maxGradNorm) {
    this.model = model;
    this.backend = model.backend();
    this.spec = spec;
    this.optimizer = optimizer;
    this.maxGradNorm = maxGradNorm;
  }

  /** The step of a training run with these options: its loss, AdamW betas/epsilon/weight decay and clipping. */
  public static TrainingStep of(TrainConfig cfg, TrainableModel model) {
    return new TrainingStep(model, cfg.lossSpec(),
        new AdamWOptimizer(model, cfg.adamBeta1, cfg.adamBeta2, cfg.adamEpsilon, cfg.weightDecay), cfg.maxGradNorm);
  }

  /** Called after each micro-batch's backward (the trainer's fault-injection pause). */
  public TrainingStep afterMicroBatch(Runnable r) {
    this.afterMicroBatch = r;
    return this;
  }

  public TrainableModel model() { return model; }

  public AdamWOptimizer optimizer() { return optimizer; }

  public RewardLossSpec lossSpec() { return spec; }

  /**
   * One optimizer step over these micro-batches (gradient accumulation) at learning rate {@code lr}. Returns the
   * pair-weighted loss statistics and the gradient norm. Throws {@link NonFinite} before any update when the loss
   * of a micro-batch or the gradient norm is not finite.
   */
  public Outcome run(List<PackedBatch> microBatches, double lr) {
    double[] stats = accumulate(microBatches);
    double norm = optimizer.gradNorm();
    if (!Double.isFinite(norm)) throw new NonFinite("gradient norm is " + norm, microBatches);
    optimizer.update(lr, AdamWOptimizer.clipScale(norm, maxGradNorm));
    return new Outcome(stats, norm);
  }

  /** Zero grads, then forward, loss and backward per micro-batch; returns the step's pair-weighted stats. */
  private double[] accumulate(List<PackedBatch> group) {
    int pairs = 0;
    for (PackedBatch b : group) pairs += b.numPairs();
    if (pairs == 0) throw new RewardKitException("a training step needs at least one pair; its micro-batches have none");
    model.zeroGrad();
    double[] agg = new double[RewardLossSpec.NUM_STATS];
    agg[RewardLossSpec.MIN_REWARD] = Double.POSITIVE_INFINITY;
    agg[RewardLossSpec.MAX_REWARD] = Double.NEGATIVE_INFINITY;
    for (PackedBatch b : group) {
      int p = b.numPairs();
      if (p == 0) continue;
      double share = (double) p / pairs;
      Tensor rewards = model.forward(b);
      double[] s;
      try (Tensor c = backend.allocate(DType.I32, p); Tensor r = backend.allocate(DType.I32, p);
           Tensor m = backend.allocate(rewards.dtype(), p); Tensor d = backend.allocate(rewards.dtype(), rewards.numel())) {
        backend.upload(c, b.chosen());
        backend.upload(r, b.rejected());
        backend.upload(m, b.margins());
        s = backend.rewardLoss(rewards, c, r, m, d, spec, share);
        if (!Double.isFinite(s[RewardLossSpec.LOSS])) throw new NonFinite("loss is " + s[RewardLossSpec.LOSS], List.of(b));
        model.backward(d);
      }
      afterMicroBatch.run();
      for (int k : WEIGHTED) agg[k] += share * s[k];
      agg[RewardLossSpec.MIN_REWARD] = Math.min(agg[RewardLossSpec.MIN_REWARD], s[RewardLossSpec.MIN_REWARD]);
      agg[RewardLossSpec.MAX_REWARD] = Math.max(agg[RewardLossSpec.MAX_REWARD], s[RewardLossSpec.MAX_REWARD]);
    }
    return agg;
  }
}
