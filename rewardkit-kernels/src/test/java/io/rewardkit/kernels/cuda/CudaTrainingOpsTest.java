package io.rewardkit.kernels.cuda;

import static io.rewardkit.kernels.cuda.CudaTestSupport.assertClose;
import static io.rewardkit.kernels.cuda.CudaTestSupport.bf16;
import static io.rewardkit.kernels.cuda.CudaTestSupport.f32;
import static io.rewardkit.kernels.cuda.CudaTestSupport.randomBf16;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Whole-arena sum of squares, clipping and fused AdamW against a double-precision Java reference of PyTorch's formulas. */
class CudaTrainingOpsTest extends CudaTestBase {
  @ParameterizedTest
  @CsvSource({"1, 0.5", "1000003, 1.0", "77, 0"})
  void gradNormClipAndAdamw(int n, float maxNorm) {
    float[] g = randomBf16(rnd, n, 0.01), p = randomBf16(rnd, n, 0.1);
    float[] m = new float[n], v = new float[n];
    for (int i = 0; i < n; i++) { m[i] = (float) (rnd.nextGaussian() * 1e-3); v[i] = (float) Math.abs(rnd.nextGaussian() * 1e-6); }
    double ss = 0;
    for (float x : g) ss += (double) x * x;
    double norm = Math.sqrt(ss);
    double clip = maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;

    Tensor gg = f32(gpu, g, n);
    double got = gpu.gradSumSquares(gg);
    assertEquals(ss, got, 1e-12 * ss, "sum of squares");
    assertEquals(got, gpu.gradSumSquares(gg), 0, "grad norm must be bitwise deterministic");

    float lr = 1e-3f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f;
    long step = 3;
    double bc1 = 1 - Math.pow(b1, step), bc2 = 1 - Math.pow(b2, step);
    float[] refP = new float[n], refW = new float[n];
    for (int i = 0; i < n; i++) {
      double gi = g[i] * clip;
      double pi = p[i] * (1 - lr * wd);
      double mi = b1 * m[i] + (1 - b1) * gi, vi = b2 * v[i] + (1 - b2) * gi * gi;
      pi -= (lr / bc1) * mi / (Math.sqrt(vi) / Math.sqrt(bc2) + eps);
      refP[i] = (float) pi;
      refW[i] = CudaBackend.fromBf16(CudaBackend.toBf16((float) pi));
    }
    Tensor master = f32(gpu, p, n), weights = gpu.allocate(DType.BF16, n), gm = f32(gpu, m, n), gv = f32(gpu, v, n);
    gpu.adamwUpdate(master, weights, gg, gm, gv, new Backend.AdamWStep(lr, b1, b2, eps, wd, step, clip));
    // Update sizes are ~lr; fp32 arithmetic on p ~0.1 leaves ~1e-8 absolute error.
    assertClose("adamw master", refP, gpu.downloadFloats(master), 1e-5);
    assertClose("adamw bf16 weights", refW, gpu.downloadFloats(weights), 0x1p-7);
  }

  @ParameterizedTest
  @CsvSource({"1", "4097"})
  void conversionsRoundTrip(int n) {
    float[] x = randomBf16(rnd, n, 10);
    Tensor b = bf16(gpu, x, n);
    assertArrayEquals(x, gpu.downloadFloats(b), "bf16 upload/download is exact for bf16 values");
  }
}
