package io.rewardkit.kernels.cuda;

import static org.junit.jupiter.api.Assertions.fail;

import io.rewardkit.kernels.CudaSupport;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;

/**
 * Shared helpers for the GPU parity tests. Inputs are drawn fresh (seeded per test for
 * reproducible failures), rounded to bf16 ONCE, and the same rounded values feed the CPU reference
 * (F32) and the CUDA op (BF16), so the comparison measures the kernel, not input quantisation.
 *
 * <p>Tolerances follow from bf16's 8-bit significand: one rounding of a result is a relative error
 * of at most 2^-9; fp32 accumulation adds far less. Elementwise ops round 1-3 times (HF-mirroring
 * intermediate roundings), so they get 2^-7 relative to the largest reference magnitude; ops that
 * feed a bf16-rounded intermediate into a reduction (attention's P before P·V, GEMM outputs) get
 * a few times that, stated at each use.
 */
final class CudaTestSupport {
  private CudaTestSupport() {}

  static CudaBackend gpu() {
    CudaSupport.Probe p = CudaSupport.probe();
    Assumptions.assumeTrue(p.available(), "no CUDA device: " + p.detail());
    return (CudaBackend) CudaSupport.open();
  }

  static float[] randomBf16(Random rnd, int n, double scale) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) x[i] = CudaBackend.fromBf16(CudaBackend.toBf16((float) (rnd.nextGaussian() * scale)));
    return x;
  }

  static Tensor bf16(CudaBackend b, float[] data, long... shape) {
    Tensor t = b.allocate(DType.BF16, shape);
    b.upload(t, data);
    return t;
  }

  static Tensor f32(CudaBackend b, float[] data, long... shape) {
    Tensor t = b.allocate(DType.F32, shape);
    b.upload(t, data);
    return t;
  }

  static Tensor i32(CudaBackend b, int[] data, long... shape) {
    Tensor t = b.allocate(DType.I32, shape);
    b.upload(t, data);
    return t;
  }

  /** max |got - ref| <= relTol * max(|ref|) (+ a tiny floor for all-zero references). */
  static void assertClose(String what, float[] ref, float[] got, double relTol) {
    if (ref.length != got.length) fail(what + ": length " + got.length + " vs " + ref.length);
    double maxRef = 0, maxDiff = 0;
    int worst = -1;
    for (int i = 0; i < ref.length; i++) {
      if (!Float.isFinite(got[i])) fail(what + ": non-finite value " + got[i] + " at " + i);
      maxRef = Math.max(maxRef, Math.abs(ref[i]));
      double d = Math.abs(got[i] - ref[i]);
      if (d > maxDiff) { maxDiff = d; worst = i; }
    }
    double bound = relTol * Math.max(maxRef, 1e-6);
    if (maxDiff > bound) {
      fail(String.format("%s: max |diff| %.3g at %d (got %.6g, want %.6g) exceeds %.3g (= %.3g x max|ref| %.3g)",
          what, maxDiff, worst, got[worst], ref[worst], bound, relTol, maxRef));
    }
  }
}
