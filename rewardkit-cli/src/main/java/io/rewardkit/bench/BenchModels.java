package io.rewardkit.bench;

import io.rewardkit.RewardKitException;
import io.rewardkit.kernels.Backend;
import io.rewardkit.model.ModelConfig;
import io.rewardkit.model.RewardModel;
import io.rewardkit.model.lora.LoraAdapters;
import io.rewardkit.model.lora.LoraConfig;
import io.rewardkit.train.ModelAdapter;

/**
 * The models {@code rewardkit bench} trains, built as {@code train} builds them: a random-initialised
 * {@link RewardModel} of the shape (every weight trained), or with LoRA a frozen base, PEFT-initialised adapters and
 * the score head trained, both behind the trainer's {@link ModelAdapter}.
 */
public final class BenchModels {
  private BenchModels() {}

  /** Builds the model of {@code shape} on {@code backend}, its random init drawn from {@code seed}. */
  @FunctionalInterface
  public interface Factory {
    ModelAdapter create(ModelShape shape, Backend backend, long seed);
  }

  /** Full fine-tuning: every parameter trained. */
  public static ModelAdapter full(ModelShape shape, Backend backend, long seed) {
    return new ModelAdapter(RewardModel.randomInit(modelConfig(shape), backend, backend.computeType(), seed, "model shape " + shape.name()));
  }

  /** LoRA: frozen base (no base gradients or optimizer state), adapters of {@code lc} with PEFT's init, head trained. */
  public static Factory lora(LoraConfig lc) {
    return (shape, backend, seed) -> {
      ModelConfig cfg = modelConfig(shape);
      RewardModel m = RewardModel.randomInit(cfg, backend, backend.computeType(), seed, "model shape " + shape.name(), false);
      LoraAdapters ad = new LoraAdapters(cfg, lc, backend, m.dtype());
      ad.initialize(seed);
      ad.attachTo(m);
      return new ModelAdapter(m, ad);
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
}
