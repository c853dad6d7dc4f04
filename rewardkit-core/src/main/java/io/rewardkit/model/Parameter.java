package io.rewardkit.model;

import io.rewardkit.kernels.Tensor;

/**
 * One trainable tensor of a model, named as in the HF checkpoint.
 *
 * @param hfName HF tensor name, e.g. {@code model.layers.0.self_attn.q_proj.weight}
 * @param weight view into the model's weight arena (HF shape, e.g. [out, in] for a linear)
 * @param grad   view into the grad arena at the same offset, same shape
 * @param decay  whether weight decay applies (false for norm weights and biases)
 */
public record Parameter(String hfName, Tensor weight, Tensor grad, boolean decay) {
  public long numel() { return weight.numel(); }

  /** Offset of this parameter in the flat arenas, in elements. */
  public long offset() { return weight.offset(); }
}
