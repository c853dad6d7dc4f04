package io.rewardkit.model;

import io.rewardkit.kernels.Tensor;

/**
 * What runs beside a decoder layer's linear modules (LoRA adapters): called right after the base
 * linear's forward (out holds x · Wᵀ + b) and right after its backward (dx holds dOut · W).
 */
public interface LinearHook {
  /** out [T, O] += the hook's output for x [T, I]; {@code training}: keep what backward needs. */
  void forward(int layer, LinearModule module, Tensor out, Tensor x, boolean training);

  /** Accumulates the hook's parameter grads and adds its part of dL/dx to dx [T, I]. */
  void backward(int layer, LinearModule module, Tensor dx, Tensor dOut, Tensor x);
}
