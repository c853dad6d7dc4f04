package io.rewardkit.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.TrainableModel;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** AdamW, gradient norm and learning-rate schedules against hand-computed values. */
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
      B.adamwUpdate(p, grad, m, v, lr, b1, b2, eps, wd, step, scale);
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

  @Test void noDecayWithoutTheFlagAndZeroGradientIsAFixedPoint() {
    Tensor w = Tensor.hostOf(new float[] {1f, 2f}, 2), dw = Tensor.host(DType.F32, 2);
    Tensor b = Tensor.hostOf(new float[] {1f, 2f}, 2), db = Tensor.host(DType.F32, 2);
    AdamWOptimizer opt = new AdamWOptimizer(B, List.of(new TrainableModel.Param("w", w, dw, true),
        new TrainableModel.Param("b", b, db, false)), 0.9, 0.999, 1e-8, 0.5);
    opt.update(0.1, 1.0);
    assertEquals(1.0 * (1 - 0.05), w.getDouble(0), 1e-7);  // decayed only
    assertEquals(1.0, b.getDouble(0));
    assertEquals(2.0, b.getDouble(1));
    assertEquals(1, opt.step());
  }

  @Test void gradNormAndClipping() {
    Tensor dw = Tensor.hostOf(new float[] {3f, 0f}, 2), db = Tensor.hostOf(new float[] {4f}, 1);
    AdamWOptimizer opt = new AdamWOptimizer(B, List.of(new TrainableModel.Param("w", Tensor.host(DType.F32, 2), dw, true),
        new TrainableModel.Param("b", Tensor.host(DType.F32, 1), db, false)), 0.9, 0.999, 1e-8, 0);
    assertEquals(5.0, opt.gradNorm(), 0);
    assertEquals(1.0 / (5 + 1e-6), AdamWOptimizer.clipScale(5.0, 1.0), 1e-15);
    assertEquals(1.0, AdamWOptimizer.clipScale(0.5, 1.0));
    assertEquals(1.0, AdamWOptimizer.clipScale(50, 0));
    dw.setDouble(1, Double.NaN);
    assertTrue(Double.isNaN(opt.gradNorm()));
    dw.setDouble(1, Double.POSITIVE_INFINITY);
    assertTrue(Double.isInfinite(opt.gradNorm()));
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
