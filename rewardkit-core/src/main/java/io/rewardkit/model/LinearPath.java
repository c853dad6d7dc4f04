package io.rewardkit.model;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;

/**
 * How the blocks of one model run their linear modules and parameter gradients: the base linear,
 * then the model's {@link LinearHook} (LoRA) if one is installed; with a frozen base (null grads)
 * the weight GEMMs are skipped and norm weight grads go to a scratch sink.
 */
final class LinearPath implements AutoCloseable {
  private final Backend be;
  private final Tensor normScratch;  // [max(D, hd)] sink for frozen norms' weight grads, or null
  LinearHook hook;                   // set by RewardModel#setLinearHook

  LinearPath(ModelConfig cfg, Backend be, DType dtype, boolean trainBase) {
    this.be = be;
    this.normScratch = trainBase ? null
        : be.allocate(dtype == DType.F64 ? DType.F64 : DType.F32, Math.max(cfg.hiddenSize(), cfg.headDim()));
  }

  boolean trainsBase() { return normScratch == null; }

  /** out = x · Wᵀ + b, then the hook's part for this layer's module; {@code training}: keep what backward needs. */
  void forward(int layer, LinearModule m, Tensor out, Tensor x, Parameter w, Parameter b, boolean training) {
    be.linearForward(out, x, w.weight(), b == null ? null : b.weight());
    if (hook != null) hook.forward(layer, m, out, x, training);
  }

  /** dx = dOut · W (+ the hook's part); dW and dBias accumulate unless frozen (null grads). */
  void backward(int layer, LinearModule m, Tensor dx, Tensor dOut, Tensor x, Parameter w, Parameter b) {
    be.linearBackward(dx, w.grad(), b == null ? null : b.grad(), dOut, x, w.weight());
    if (hook != null) hook.backward(layer, m, dx, dOut, x);
  }

  /** A norm weight's grad, or the scratch sink for a frozen one (its input gradient is still needed). */
  Tensor normGrad(Parameter p) { return p.grad() != null ? p.grad() : normScratch.view(0, p.weight().shape()); }

  @Override
  public void close() {
    if (normScratch != null) normScratch.close();
    if (hook instanceof AutoCloseable c) {
      try {
        c.close();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
