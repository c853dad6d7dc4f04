package io.rewardkit.bench;

import io.rewardkit.RewardKitException;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backend.RewardLossSpec;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.ModelConfig;
import io.rewardkit.model.Parameter;
import io.rewardkit.model.RewardModel;
import io.rewardkit.model.lora.LoraAdapters;
import io.rewardkit.model.lora.LoraConfig;
import io.rewardkit.train.AdamWOptimizer;
import io.rewardkit.model.TrainableModel;
import java.util.ArrayList;
import java.util.List;

/**
 * The benchmark's training step on RewardKit's own pieces: {@link RewardModel} (random init), the fused
 * pairwise loss op and {@link AdamWOptimizer} with global-norm clipping at 1.0. The sequence per step is
 * the trainer's: zero grads; per micro-batch forward, loss (gradient weighted by the micro-batch's share
 * of the step's pairs), backward; grad norm; one AdamW update. Learning rate 1e-5, no weight decay, no
 * schedule, no checkpoints: the work of a step, nothing else.
 */
public final class RewardModelStep implements TrainStep {
  static final double LR = 1e-5, MAX_GRAD_NORM = 1.0;

  private final RewardModel model;
  private final Backend backend;
  private final AdamWOptimizer optimizer;
  private final RewardLossSpec spec = RewardLossSpec.ranking();

  private final LoraAdapters lora;  // null: full fine-tuning

  private RewardModelStep(RewardModel model, LoraAdapters lora, Backend backend) {
    this.model = model;
    this.lora = lora;
    this.backend = backend;
    List<TrainableModel.Param> params = new ArrayList<>();
    List<Parameter> trained = new ArrayList<>();
    if (lora == null) {
      trained.addAll(model.parameters());
    } else {
      trained.addAll(lora.parameters());
      trained.add(model.scoreHead());
    }
    for (Parameter p : trained) params.add(new TrainableModel.Param(p.hfName(), p.weight(), p.grad(), p.decay()));
    this.optimizer = new AdamWOptimizer(backend, lora == null ? model.weights() : lora.weights(),
        lora == null ? model.grads() : lora.grads(), params, 0.9, 0.999, 1e-8, 0.0);
  }

  public static TrainStep create(ModelShape shape, Backend backend, long seed) {
    return new RewardModelStep(RewardModel.randomInit(modelConfig(shape), backend, seed), null, backend);
  }

  /** A factory for LoRA steps: frozen base (no base gradients or optimizer state), adapters of {@code lc} with PEFT's init, head trained. */
  public static TrainStep.Factory lora(LoraConfig lc) {
    return (shape, backend, seed) -> {
      ModelConfig cfg = modelConfig(shape);
      RewardModel m = RewardModel.randomInit(cfg, backend, backend.computeType(), seed, "model shape " + shape.name(), false);
      LoraAdapters ad = new LoraAdapters(cfg, lc, backend, m.dtype());
      ad.initialize(seed);
      ad.attachTo(m);
      return new RewardModelStep(m, ad, backend);
    };
  }

  /** The shape's HF config read by RewardKit's own config parser (so the benchmark model is what training builds). */
  public static ModelConfig modelConfig(ModelShape shape) {
    try {
      String json = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(shape.toHfConfig());
      return ModelConfig.parse(json, "model shape " + shape.name());
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new RewardKitException("model shape " + shape.name() + ": " + e.getMessage(), e);
    }
  }

  public RewardModel model() { return model; }

  @Override
  public double run(List<PackedBatch> microBatches) {
    int pairs = 0;
    for (PackedBatch b : microBatches) pairs += b.numPairs();
    if (pairs == 0) throw new IllegalArgumentException("a step needs at least one pair");
    model.zeroGrad();
    if (lora != null) lora.zeroGrad();
    double loss = 0;
    for (PackedBatch b : microBatches) {
      int p = b.numPairs();
      if (p == 0) continue;
      Tensor rewards = model.forward(b);
      try (Tensor c = backend.allocate(DType.I32, p); Tensor r = backend.allocate(DType.I32, p);
           Tensor d = backend.allocate(rewards.dtype(), rewards.numel())) {
        backend.upload(c, b.chosen());
        backend.upload(r, b.rejected());
        double share = (double) p / pairs;
        double[] s = backend.rewardLoss(rewards, c, r, null, d, spec, share);
        model.backward(d);
        loss += share * s[RewardLossSpec.LOSS];
      }
    }
    double norm = optimizer.gradNorm();
    optimizer.update(LR, AdamWOptimizer.clipScale(norm, MAX_GRAD_NORM));
    return loss;
  }

  @Override
  public void close() {
    model.close();
  }
}
