package io.rewardkit.kernels;

/**
 * A linear layer over a frozen NF4 weight (QLoRA's base): the weight is dequantised into a scratch
 * buffer in the compute dtype, then the backend's GEMM runs on it, as bitsandbytes' {@code matmul_4bit}
 * does for training batches (dequantize_4bit, then the dense GEMM). Only the NF4 copy persists; the
 * scratch is one layer's weight, reused by every layer.
 */
public final class Nf4Linear {
  private Nf4Linear() {}

  /** out [T, O] = x [T, I] · deq(w)ᵀ + bias [O] (or null); scratch [O, I] receives deq(w). */
  public static void forward(Backend be, Tensor out, Tensor x, Nf4Weight w, Tensor bias, Tensor scratch) {
    Tensor deq = dequantized(be, w, scratch);
    be.linearForward(out, x, deq, bias);
  }

  /**
   * dx [T, I] = dOut [T, O] · deq(w) (overwritten). The base is frozen: no weight gradient. x [T, I] is
   * the forward input (its shape only); scratch [O, I] receives deq(w).
   */
  public static void backward(Backend be, Tensor dx, Tensor dOut, Tensor x, Nf4Weight w, Tensor scratch) {
    Tensor deq = dequantized(be, w, scratch);
    be.linearBackward(dx, null, null, dOut, x, deq);
  }

  private static Tensor dequantized(Backend be, Nf4Weight w, Tensor scratch) {
    long[] s = w.shape();
    if (s.length != 2) throw new IllegalArgumentException("nf4 linear: weight must be [O, I], got " + java.util.Arrays.toString(s));
    if (scratch.numel() < w.numel()) {
      throw new IllegalArgumentException("nf4 linear: scratch " + scratch + " smaller than the weight (" + w.numel() + ")");
    }
    Tensor deq = scratch.view(0, s[0], s[1]);
    be.nf4Dequantize(deq, w);
    return deq;
  }
}
