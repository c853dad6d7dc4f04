package io.rewardkit.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.kernels.Backend.AdamWStep;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.TrainableModel;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** AdamW, gradient norm and learning-rate schedules against hand-computed values and a float64 reference. */
class OptimizerTest {
  static final CpuBackend B = new CpuBackend();

  @Test void adamwFirstStepsMatchReference() {
    // Reference: PyTorch's AdamW formulation evaluated in double.
    float[] p0 = {0.5f, -1.0f, 2.0f, 0.0f, 3.0f};
    float[] g = {0.1f, -0.2f, 0.0f, 1.5f, -3.0f};
    double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1, scale = 0.5;
    Tensor p = Tensor.hostOf(p0.clone(), 5), grad = Tensor.hostOf(g, 5);
    Tensor m = Tensor.host(DType.F32, 5), v = Tensor.host(DType.F32, 5);
    double[] rp = new double[5], rm = new double[5], rv = new double[5];
    for (int i = 0; i < 5; i++) rp[i] = p0[i];
    for (int step = 1; step <= 3; step++) {
      B.adamwUpdate(p, p, grad, m, v, new AdamWStep(lr, b1, b2, eps, wd, step, scale));
      for (int i = 0; i < 5; i++) {
        double gi = g[i] * scale;
        rp[i] *= 1 - lr * wd;
        rm[i] = b1 * rm[i] + (1 - b1) * gi;
        rv[i] = b2 * rv[i] + (1 - b2) * gi * gi;
        double bc1 = 1 - Math.pow(b1, step), bc2 = 1 - Math.pow(b2, step);
        rp[i] -= lr / bc1 * rm[i] / (Math.sqrt(rv[i]) / Math.sqrt(bc2) + eps);
      }
      for (int i = 0; i < 5; i++) {
        assertEquals(rp[i], p.getDouble(i), 2e-6, "param " + i + " step " + step);
        assertEquals(rm[i], m.getDouble(i), 1e-7);
        assertEquals(rv[i], v.getDouble(i), 1e-8);
      }
    }
    // Hand value: step 1 moves each param with a non-zero gradient by ~lr against the gradient's sign.
    // element 0 after 3 steps: each step decays by (1 - lr wd) = 0.999, then moves by lr (m̂/sqrt(v̂) = 1 for a constant gradient)
    assertEquals(0.5 * Math.pow(0.999, 3) - 0.01 * (1 + 0.999 + 0.999 * 0.999), p.getDouble(0), 1e-6);
  }

  @Test void adamwArgumentsAreCheckedOnceNatively() {
    Tensor p = Tensor.host(DType.F32, 3), g = Tensor.host(DType.F32, 3), m = Tensor.host(DType.F32, 3), v = Tensor.host(DType.F32, 3);
    RuntimeException e = assertThrows(RuntimeException.class,
        () -> B.adamwUpdate(p, p, g, m, v, new AdamWStep(0.1, 1.0, 0.999, 1e-8, 0, 1, 1.0)));
    assertTrue(e.getMessage().contains("betas must be in [0, 1)"), e.getMessage());
    e = assertThrows(RuntimeException.class, () -> B.adamwUpdate(p, p, g, m, v, new AdamWStep(0.1, 0.9, 0.999, 1e-8, 0, 0, 1.0)));
    assertTrue(e.getMessage().contains("step >= 1"), e.getMessage());
  }

  @Test void noDecayWithoutTheFlagAndZeroGradientIsAFixedPoint() {
    TestArena a = TestArena.of(B, DType.F32, new String[] {"w", "b"}, new float[][] {{1f, 2f}, {1f, 2f}},
        new float[][] {{0f, 0f}, {0f, 0f}}, new boolean[] {true, false}, 3);
    AdamWOptimizer opt = a.optimizer(B, 0.9, 0.999, 1e-8, 0.5);
    opt.update(0.1, 1.0);
    Tensor w = a.params().get(0).weight(), b = a.params().get(1).weight();
    assertEquals(1.0 * (1 - 0.05), w.getDouble(0), 1e-7);  // decayed only
    assertEquals(1.0, b.getDouble(0));
    assertEquals(2.0, b.getDouble(1));
    assertEquals(1, opt.step());
  }

  @Test void gradNormAndClipping() {
    TestArena a = TestArena.of(B, DType.F32, new String[] {"w", "b"}, new float[][] {{0f, 0f}, {0f}},
        new float[][] {{3f, 0f}, {4f}}, new boolean[] {true, false}, 0);
    AdamWOptimizer opt = a.optimizer(B, 0.9, 0.999, 1e-8, 0);
    Tensor dw = a.params().get(0).grad();
    assertEquals(5.0, opt.gradNorm(), 0);
    assertEquals(1.0 / (5 + 1e-6), AdamWOptimizer.clipScale(5.0, 1.0), 1e-15);
    assertEquals(1.0, AdamWOptimizer.clipScale(0.5, 1.0));
    assertEquals(1.0, AdamWOptimizer.clipScale(50, 0));
    dw.setDouble(1, Double.NaN);
    assertTrue(Double.isNaN(opt.gradNorm()));
    dw.setDouble(1, Double.POSITIVE_INFINITY);
    assertTrue(Double.isInfinite(opt.gradNorm()));
  }

  /**
   * The arena optimizer as the trainer drives it (global norm, clip scale, one update per group) against a plain
   * float64 AdamW over six steps: two decay tensors and two no-decay tensors with padding between them, fresh
   * gradients every step. maxNorm 0.05 clips every step; 1e6 never does.
   */
  @ParameterizedTest
  @ValueSource(doubles = {0.05, 1e6})
  void arenaOptimizerMatchesFloat64AdamW(double maxNorm) {
    SplittableRandom rnd = new SplittableRandom(17);
    int[] sizes = {5000, 37, 64, 3};
    boolean[] decay = {true, true, false, false};
    float[][] w = new float[sizes.length][], g = new float[sizes.length][];
    for (int i = 0; i < sizes.length; i++) { w[i] = gaussian(rnd, sizes[i], 0.1); g[i] = new float[sizes[i]]; }
    TestArena a = TestArena.of(B, DType.F32, new String[] {"a", "b", "c", "d"}, w, g, decay, 11);
    double lr0 = 1e-2, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
    AdamWOptimizer opt = a.optimizer(B, b1, b2, eps, wd);

    double[][] rp = new double[sizes.length][], rm = new double[sizes.length][], rv = new double[sizes.length][];
    for (int i = 0; i < sizes.length; i++) {
      rp[i] = new double[sizes[i]]; rm[i] = new double[sizes[i]]; rv[i] = new double[sizes[i]];
      for (int k = 0; k < sizes[i]; k++) rp[i][k] = w[i][k];
    }
    int clipped = 0;
    for (int step = 1; step <= 6; step++) {
      double lr = lr0 * step / 6.0, ss = 0;
      for (int i = 0; i < sizes.length; i++) {
        g[i] = gaussian(rnd, sizes[i], 0.01 * step);
        B.upload(a.params().get(i).grad(), g[i]);
        for (float x : g[i]) ss += (double) x * x;
      }
      double norm = opt.gradNorm();
      assertEquals(Math.sqrt(ss), norm, 1e-12 * norm, "global norm, step " + step);
      double scale = AdamWOptimizer.clipScale(norm, maxNorm);
      if (scale < 1) clipped++;
      opt.update(lr, scale);
      double refScale = Math.min(1.0, maxNorm / (Math.sqrt(ss) + 1e-6));
      double bc1 = 1 - Math.pow(b1, step), bc2 = 1 - Math.pow(b2, step);
      for (int i = 0; i < sizes.length; i++) {
        double d = decay[i] ? wd : 0;
        for (int k = 0; k < sizes[i]; k++) {
          double gi = g[i][k] * refScale;
          rm[i][k] = b1 * rm[i][k] + (1 - b1) * gi;
          rv[i][k] = b2 * rv[i][k] + (1 - b2) * gi * gi;
          rp[i][k] = rp[i][k] * (1 - lr * d) - lr / bc1 * rm[i][k] / (Math.sqrt(rv[i][k]) / Math.sqrt(bc2) + eps);
        }
      }
      for (int i = 0; i < sizes.length; i++) {
        float[] got = a.params().get(i).weight().toFloatArray();
        for (int k = 0; k < sizes[i]; k++) {
          assertEquals(rp[i][k], got[k], 1e-6 * (1 + Math.abs(rp[i][k])), "param " + i + "[" + k + "] step " + step);
        }
      }
    }
    assertEquals(maxNorm < 1 ? 6 : 0, clipped, "steps with clipping active");
    assertEquals(6, opt.step());
    // Padding between tensors belongs to the arena and stays zero.
    float[] all = a.weights().toFloatArray();
    for (int k = 5000; k < 5011; k++) assertEquals(0f, all[k], "padding " + k);
  }

  @Test void parametersMustBeLaidOutByGroupInTheArena() {
    float[][] w = {{1f}, {2f}, {3f}}, g = {{0f}, {0f}, {0f}};
    TestArena interleaved = TestArena.of(B, DType.F32, new String[] {"a", "b", "c"}, w, g, new boolean[] {true, false, true}, 0);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> interleaved.optimizer(B, 0.9, 0.999, 1e-8, 0));
    assertTrue(e.getMessage().contains("not laid out by optimizer group: c"), e.getMessage());

    TestArena ok = TestArena.of(B, DType.F32, new String[] {"a", "b"}, new float[][] {{1f}, {2f}}, new float[][] {{0f}, {0f}},
        new boolean[] {true, false}, 0);
    List<TrainableModel.Param> foreign = List.of(ok.params().get(0),
        new TrainableModel.Param("stray", Tensor.host(DType.F32, 1), Tensor.host(DType.F32, 1), false));
    e = assertThrows(IllegalArgumentException.class,
        () -> new AdamWOptimizer(B, ok.weights(), ok.grads(), foreign, 0.9, 0.999, 1e-8, 0));
    assertTrue(e.getMessage().contains("stray weight is not a view of the model's parameter arena"), e.getMessage());
  }

  @Test void gradSumSquaresIsExactOverChunks() {
    // 10007 elements span several 4096-element chunks; compare with a double sum.
    SplittableRandom rng = new SplittableRandom(3);
    float[] g = new float[10007];
    double ref = 0;
    for (int i = 0; i < g.length; i++) { g[i] = (float) rng.nextGaussian(); ref += (double) g[i] * g[i]; }
    assertEquals(ref, B.gradSumSquares(Tensor.hostOf(g, g.length)), 1e-9 * ref);
    assertEquals(0.0, B.gradSumSquares(Tensor.host(DType.F32, 0)));
  }

  private static float[] gaussian(SplittableRandom rnd, int n, double std) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextGaussian() * std);
    return x;
  }

  @Test void schedules() {
    // linear, 10 steps, 2 warmup: 0, 0.5, then (10 - s) / 8
    LrSchedule lin = new LrSchedule(LrSchedule.Type.LINEAR, 1.0, 10, 2, 0);
    assertEquals(0.0, lin.lr(0));
    assertEquals(0.5, lin.lr(1));
    assertEquals(1.0, lin.lr(2));
    assertEquals(0.5, lin.lr(6));
    assertEquals(0.125, lin.lr(9));
    // cosine: half way through the decay -> 0.5
    LrSchedule cos = new LrSchedule(LrSchedule.Type.COSINE, 2.0, 12, 2, 0);
    assertEquals(1.0, cos.lr(2 + 5), 1e-15);
    assertEquals(2.0, cos.lr(2), 1e-15);
    assertEquals(2.0 * 0.5 * (1 + Math.cos(Math.PI * 0.9)), cos.lr(11), 1e-15);
    // cosine_with_min_lr: floor min_lr_rate * peak at the end of the decay, mid-point (1 + 0.1) / 2
    LrSchedule cmin = new LrSchedule(LrSchedule.Type.COSINE_WITH_MIN_LR, 1.0, 11, 1, 0.1);
    assertEquals(0.55, cmin.lr(6), 1e-15);
    assertEquals(0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * 0.9)), cmin.lr(10), 1e-15);
    // constant with warmup
    LrSchedule c = new LrSchedule(LrSchedule.Type.CONSTANT, 3e-4, 100, 4, 0);
    assertEquals(1.5e-4, c.lr(2), 1e-18);
    assertEquals(3e-4, c.lr(99));
    // warmup from ratio: ceil(0.1 * 25) = 3; explicit steps win
    assertEquals(3, LrSchedule.warmupSteps(25, 0, 0.1));
    assertEquals(7, LrSchedule.warmupSteps(25, 7, 0.1));
    assertThrows(RuntimeException.class, () -> LrSchedule.Type.parse("polynomial"));
  }
}
