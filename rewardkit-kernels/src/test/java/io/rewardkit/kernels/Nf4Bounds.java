package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;

/** The checks NF4 must pass on any weight (shared by Nf4Test and the golden test in rewardkit-core). */
public final class Nf4Bounds {
  private Nf4Bounds() {}

  /** NF4's widest gap is between -1 and -0.6961928: half of it bounds |w/absmax - code|. */
  static final double NF4_HALF_GAP = (1.0 - 0.6961928009986877) / 2;
  /** The dynamic map's widest gap near ±1 is 0.9/64 (its top decade's linspace step): half bounds the absmax error. */
  static final double MAP_HALF_GAP = 0.9 / 64 / 2;

  /**
   * Quantises w and checks every element: w = u·a, w' = c·a' with |u - c| ≤ NF4_HALF_GAP (nearest code)
   * and |c| ≤ 1, so |w - w'| ≤ NF4_HALF_GAP·a + |a - a'|, and |a - a'| ≤ MAP_HALF_GAP·absmax2 (nearest
   * map entry). Returns the relative RMS error.
   */
  public static double check(Backend cpu, float[] w, long[] shape) {
    try (Tensor t = Tensor.hostOf(w, shape); Nf4Weight q = Nf4Weight.quantize(cpu, t)) {
      Tensor out = Tensor.host(DType.F64, shape);
      cpu.nf4Dequantize(out, q);
      double[] d = out.toDoubleArray();
      float[] a2 = q.absmax2(cpu);
      double se = 0, sw = 0;
      int blocks = (w.length + 63) / 64;
      for (int b = 0; b < blocks; b++) {
        int end = Math.min(w.length, b * 64 + 64);
        double a = 0, aq = 0;
        for (int i = b * 64; i < end; i++) a = Math.max(a, Math.abs(w[i]));
        // a' from the dequantised block: the element of largest |w| has code ±1 (and an all-zero block code -1)
        for (int i = b * 64; i < end; i++) aq = Math.max(aq, Math.abs(d[i]));
        double absErr = MAP_HALF_GAP * a2[b / 256] * (1 + 1e-5) + 1e-6 * a;
        assertEquals(a, aq, absErr, "block " + b + " absmax after double quantisation");
        for (int i = b * 64; i < end; i++) {
          assertEquals(w[i], d[i], NF4_HALF_GAP * a + absErr + 1e-6 * a, "element " + i);
          se += (w[i] - d[i]) * (w[i] - d[i]);
          sw += (double) w[i] * w[i];
        }
      }
      return Math.sqrt(se / sw);
    }
  }

  /**
   * Nf4Linear forward (with bias) and input gradient in F32 and F64 against float64 loops over
   * {@code deq} (the weight's dequantised values, [O, I] row-major).
   */
  public static void checkGemm(Backend cpu, Nf4Weight q, float[] deq, SplittableRandom rng) {
    long[] shape = q.shape();
    int o = (int) shape[0], in = (int) shape[1], tokens = 5;
    for (DType dt : new DType[] {DType.F32, DType.F64}) {
      Tensor x = GradCheck.random(rng, 1.0, tokens, in), bias = GradCheck.random(rng, 1.0, o), dOut = GradCheck.random(rng, 1.0, tokens, o);
      Tensor xs = cast(x, dt), biasS = cast(bias, dt), dOutS = cast(dOut, dt);
      Tensor y = Tensor.host(dt, tokens, o), dx = Tensor.host(dt, tokens, in), scratch = Tensor.host(dt, (long) o * in + 7);
      Nf4Linear.forward(cpu, y, xs, q, biasS, scratch);
      Nf4Linear.backward(cpu, dx, dOutS, xs, q, scratch);
      double[] yRef = new double[tokens * o], dxRef = new double[tokens * in];
      double scaleY = 0, scaleDx = 0;
      for (int t = 0; t < tokens; t++) {
        for (int r = 0; r < o; r++) {
          double s = biasS.getDouble(r), m = Math.abs(biasS.getDouble(r));
          for (int k = 0; k < in; k++) {
            double p = xs.getDouble((long) t * in + k) * deq[r * in + k];
            s += p;
            m += Math.abs(p);
          }
          yRef[t * o + r] = s;
          scaleY = Math.max(scaleY, m);
        }
        for (int k = 0; k < in; k++) {
          double s = 0, m = 0;
          for (int r = 0; r < o; r++) {
            double p = dOutS.getDouble((long) t * o + r) * deq[r * in + k];
            s += p;
            m += Math.abs(p);
          }
          dxRef[t * in + k] = s;
          scaleDx = Math.max(scaleDx, m);
        }
      }
      double eps = dt == DType.F32 ? 1e-6 : 1e-14;  // relative to Σ|terms|: the summation error scale
      assertArrayEquals(yRef, y.toDoubleArray(), eps * scaleY, dt + " forward");
      assertArrayEquals(dxRef, dx.toDoubleArray(), eps * scaleDx, dt + " input gradient");
    }
  }

  private static Tensor cast(Tensor t, DType dt) {
    if (dt == DType.F64) return t;
    return Tensor.hostOf(t.toFloatArray(), t.shape());
  }
}
