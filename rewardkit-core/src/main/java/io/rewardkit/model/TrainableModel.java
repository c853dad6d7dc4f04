package io.rewardkit.model;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * What the trainer needs from a reward model. {@code io.rewardkit.train.ModelAdapter} adapts
 * {@code io.rewardkit.model.RewardModel}; tests may supply small models of their own.
 */
public interface TrainableModel {

  /** A trainable tensor: HF name, fp32 weight and its gradient (same shape), and whether weight decay applies. */
  record Param(String name, Tensor weight, Tensor grad, boolean decay) {}

  Backend backend();

  /** Rewards [R] of the batch's readout positions (valid until the next forward). */
  Tensor forward(PackedBatch batch);

  /** Inference rewards [R] on the host (no activations kept for backward). */
  float[] score(PackedBatch batch);

  /** Backpropagates dRewards [R] of the last forward, accumulating into the parameter gradients. */
  void backward(Tensor dRewards);

  void zeroGrad();

  List<Param> params();

  /**
   * The flat weight arena every {@link Param#weight()} is a view of, laid out by optimizer group: all weight-decay
   * tensors in one contiguous span, all others in another (llm.c layout; io.rewardkit.train.AdamWOptimizer checks it).
   */
  Tensor weightArena();

  /** The flat gradient arena, laid out exactly like {@link #weightArena()}. */
  Tensor gradArena();

  /** Writes an HF-loadable model (config.json, model.safetensors) into dir. */
  void saveHf(Path dir) throws IOException;

  /** Saves with weights stored as {@code dtype} ("float32" or "bfloat16"; null: as {@link #saveHf(Path)}). */
  default void saveHf(Path dir, String dtype) throws IOException { saveHf(dir); }
}
