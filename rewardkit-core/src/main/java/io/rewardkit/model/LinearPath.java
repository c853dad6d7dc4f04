package io.rewardkit.model;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Nf4Linear;
import io.rewardkit.kernels.Nf4Weight;
import io.rewardkit.kernels.Tensor;

/**
 * How the blocks of one model run their linear modules and parameter gradients: the base linear,
 * then the model's {@link LinearHook} (LoRA) if one is installed; with a frozen base (null grads)
 * the weight GEMMs are skipped and norm weight grads go to a scratch sink. A linear stored NF4 (QLoRA)
 * is dequantised into one scratch shared by every layer, sized to the largest such linear, before its GEMM.
 */
final class LinearPath implements AutoCloseable {
  private final Backend be;
  private final Tensor normScratch;  // [max(D, hd)] sink for frozen norms' weight grads, or null
  private final Nf4Weight[][] nf4;   // [layer][module] NF4 base linears (null: dense)
  private final Tensor nf4Scratch;   // [largest NF4 linear] dequantised weight, or null
  LinearHook hook;                   // set by RewardModel#setLinearHook

  LinearPath(ModelConfig cfg, Backend be, DType dtype, boolean trainBase, ModelParameters params) {
    this.be = be;
    this.normScratch = trainBase ? null
        : be.allocate(dtype == DType.F64 ? DType.F64 : DType.F32, Math.max(cfg.hiddenSize(), cfg.headDim()));
    this.nf4 = params.nf4;
    long largest = 0;
    for (LinearModule m : params.nf4Modules) largest = Math.max(largest, m.inFeatures(cfg) * m.outFeatures(cfg));
    this.nf4Scratch = largest == 0 ? null : be.allocate(dtype, largest);
  }

  /** Bytes of the shared dequantisation scratch (0 without NF4 linears). */
  long nf4ScratchBytes() { return nf4Scratch == null ? 0 : nf4Scratch.bytes(); }

  boolean trainsBase() { return normScratch == null; }

  /** out = x · Wᵀ + b, then the hook's part for this layer's module; {@code training}: keep what backward needs. */
  void forward(int layer, LinearModule m, Tensor out, Tensor x, Parameter w, Parameter b, boolean training) {
    Nf4Weight q = nf4[layer][m.ordinal()];
    if (q != null) Nf4Linear.forward(be, out, x, q, b == null ? null : b.weight(), nf4Scratch);
    else be.linearForward(out, x, w.weight(), b == null ? null : b.weight());
    if (hook != null) hook.forward(layer, m, out, x, training);
  }

  /** dx = dOut · W (+ the hook's part); dW and dBias accumulate unless frozen (null grads). */
  void backward(int layer, LinearModule m, Tensor dx, Tensor dOut, Tensor x, Parameter w, Parameter b) {
    Nf4Weight q = nf4[layer][m.ordinal()];
    if (q != null) {
      if (b != null && b.grad() != null) throw new IllegalStateException(b.hfName() + ": an NF4 layer's bias is frozen");
      Nf4Linear.backward(be, dx, dOut, x, q, nf4Scratch);
    } else {
      be.linearBackward(dx, w.grad(), b == null ? null : b.grad(), dOut, x, w.weight());
    }
    if (hook != null) hook.backward(layer, m, dx, dOut, x);
  }

  /** A norm weight's grad, or the scratch sink for a frozen one (its input gradient is still needed). */
  Tensor normGrad(Parameter p) { return p.grad() != null ? p.grad() : normScratch.view(0, p.weight().shape()); }

  @Override
  public void close() {
    if (normScratch != null) normScratch.close();
    if (nf4Scratch != null) nf4Scratch.close();
    if (hook instanceof AutoCloseable c) {
      try {
        c.close();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
