package io.rewardkit.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.kernels.Backend.RewardLossSpec;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.GradCheck;
import io.rewardkit.kernels.GradContract;
import io.rewardkit.kernels.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The fused reward loss against hand-computed values and float64 finite differences. */
class RewardLossTest {
  static final CpuBackend B = new CpuBackend();
  static final int S_LOSS = RewardLossSpec.LOSS;

  static RewardLossSpec spec(int loss, double gamma, int penalty, double weight, double center) {
    return new RewardLossSpec(loss, gamma, penalty, weight, -5, 5, center);
  }

  static double[] run(double[] rewards, int[] c, int[] r, double[] margins, RewardLossSpec spec, double[] gradOut) {
    Tensor tr = Tensor.hostOf(rewards, rewards.length);
    Tensor d = gradOut == null ? null : Tensor.host(io.rewardkit.kernels.DType.F64, rewards.length);
    double[] stats = B.rewardLoss(tr, Tensor.hostOf(c, c.length), Tensor.hostOf(r, r.length),
        margins == null ? null : Tensor.hostOf(margins, margins.length), d, spec, 1.0);
    if (gradOut != null) System.arraycopy(d.toDoubleArray(), 0, gradOut, 0, gradOut.length);
    return stats;
  }

  static double sigmoid(double x) { return 1 / (1 + Math.exp(-x)); }

  @Test void rankingHandValues() {
    // one pair r_c = 1, r_r = 0:  -log sigmoid(1) = log(1 + e^-1) = 0.31326168751822286
    double[] g = new double[2];
    double[] s = run(new double[] {1, 0}, new int[] {0}, new int[] {1}, null, RewardLossSpec.ranking(), g);
    assertEquals(0.31326168751822286, s[S_LOSS], 1e-15);
    assertEquals(1.0, s[RewardLossSpec.ACCURACY]);
    assertEquals(1.0, s[RewardLossSpec.MARGIN]);
    // dL/dr_c = -sigmoid(-1) = -0.2689414213699951
    assertEquals(-0.2689414213699951, g[0], 1e-15);
    assertEquals(0.2689414213699951, g[1], 1e-15);
    // with margin 0.5: -log sigmoid(0.5) = 0.47407698418010663
    s = run(new double[] {1, 0}, new int[] {0}, new int[] {1}, new double[] {0.5}, RewardLossSpec.ranking(), null);
    assertEquals(0.47407698418010663, s[S_LOSS], 1e-15);
  }

  @Test void statsOverSeveralPairs() {
    // rewards: pairs (0 vs 1) = (2, -1) correct; (2 vs 3) = (0.5, 0.5) tie -> wrong; (4 vs 5) = (-3, 1) wrong.
    double[] rw = {2, -1, 0.5, 0.5, -3, 1, 99};  // index 6 is in no pair and must not count
    double[] g = new double[rw.length];
    double[] s = run(rw, new int[] {0, 2, 4}, new int[] {1, 3, 5}, null, RewardLossSpec.ranking(), g);
    assertEquals(1.0 / 3, s[RewardLossSpec.ACCURACY], 1e-15);
    assertEquals((3 + 0 - 4) / 3.0, s[RewardLossSpec.MARGIN], 1e-15);
    assertEquals(-3, s[RewardLossSpec.MIN_REWARD]);
    assertEquals(2, s[RewardLossSpec.MAX_REWARD]);
    assertEquals((2 - 1 + 0.5 + 0.5 - 3 + 1) / 6.0, s[RewardLossSpec.MEAN_REWARD], 1e-15);
    assertEquals((2 + 0.5 - 3) / 3.0, s[RewardLossSpec.CHOSEN_MEAN], 1e-15);
    double expected = (Math.log1p(Math.exp(-3)) + Math.log(2) + Math.log1p(Math.exp(4))) / 3;
    assertEquals(expected, s[S_LOSS], 1e-14);
    assertEquals(0.0, g[6]);
  }

  @Test void focalHandValues() {
    for (double d : new double[] {-1.5, 0.3, 2.0}) {
      for (double gamma : new double[] {0, 1, 2, 3.5}) {
        double p = sigmoid(d);
        double f = Math.pow(1 - 2 * Math.max(0, p - 0.5), gamma);
        double expected = -f * Math.log(p);
        double[] s = run(new double[] {d, 0}, new int[] {0}, new int[] {1}, null,
            spec(RewardLossSpec.FOCAL, gamma, RewardLossSpec.NO_PENALTY, 0, 0), null);
        assertEquals(expected, s[S_LOSS], 1e-14, "focal d=" + d + " gamma=" + gamma);
      }
    }
    // gamma = 0 is exactly the ranking loss
    double[] a = run(new double[] {0.7, -0.2}, new int[] {0}, new int[] {1}, null, spec(1, 0, 0, 0, 0), null);
    double[] b = run(new double[] {0.7, -0.2}, new int[] {0}, new int[] {1}, null, RewardLossSpec.ranking(), null);
    assertEquals(b[S_LOSS], a[S_LOSS], 1e-15);
  }

  @Test void penaltiesAndCenteringHandValues() {
    double[] rw = {1, -2};
    // L2: mean over the pair's two rewards of x^2 = (1 + 4) / 2 = 2.5; weight 0.1
    double[] s = run(rw, new int[] {0}, new int[] {1}, null, spec(0, 2, RewardLossSpec.L2, 0.1, 0), null);
    double rank = Math.log1p(Math.exp(-3));
    assertEquals(2.5, s[RewardLossSpec.PENALTY], 1e-15);
    assertEquals(rank + 0.25, s[S_LOSS], 1e-15);
    // log barrier inside the bounds: -log(x+5) - log(5-x)
    s = run(rw, new int[] {0}, new int[] {1}, null, spec(0, 2, RewardLossSpec.LOG_BARRIER, 1, 0), null);
    double pen = ((-Math.log(6) - Math.log(4)) + (-Math.log(3) - Math.log(7))) / 2;
    assertEquals(pen, s[RewardLossSpec.PENALTY], 1e-14);
    assertEquals(rank + pen, s[S_LOSS], 1e-14);
    // centering: c * (r_c + r_r)^2 = 0.01 * 1
    s = run(rw, new int[] {0}, new int[] {1}, null, spec(0, 2, 0, 0, 0.01), null);
    assertEquals(rank + 0.01, s[S_LOSS], 1e-15);
  }

  @Test void logBarrierRestoresEscapedScores() {
    // Scores outside (-5, 5): the loss stays finite and the gradient points back inside.
    for (double x : new double[] {5.0, 6.0, 40.0}) {
      double[] g = new double[2];
      double[] s = run(new double[] {x, -x}, new int[] {0}, new int[] {1}, null,
          spec(0, 2, RewardLossSpec.LOG_BARRIER, 1, 0), g);
      assertTrue(Double.isFinite(s[S_LOSS]), "finite at " + x);
      assertTrue(g[0] > 0 && g[1] < 0, "restoring gradient at x=" + x + ": " + g[0] + ", " + g[1]);
    }
    // and it grows with the distance outside
    double[] g1 = new double[2], g2 = new double[2];
    run(new double[] {6, 0}, new int[] {0}, new int[] {1}, null, spec(0, 2, 1, 1, 0), g1);
    run(new double[] {8, 0}, new int[] {0}, new int[] {1}, null, spec(0, 2, 1, 1, 0), g2);
    assertTrue(g2[0] > g1[0]);
  }

  @Test void numericallyStableAtExtremes() {
    double[] g = new double[2];
    double[] s = run(new double[] {1000, -1000}, new int[] {0}, new int[] {1}, null, RewardLossSpec.ranking(), g);
    assertEquals(0.0, s[S_LOSS], 1e-300);
    s = run(new double[] {-1000, 1000}, new int[] {0}, new int[] {1}, null, RewardLossSpec.ranking(), g);
    assertEquals(2000.0, s[S_LOSS], 1e-9);
    assertEquals(-1.0, g[0], 1e-15);
    s = run(new double[] {-1000, 1000}, new int[] {0}, new int[] {1}, null, spec(1, 2, 0, 0, 0), g);
    assertEquals(2000.0, s[S_LOSS], 1e-9);
    s = run(new double[] {1000, -1000}, new int[] {0}, new int[] {1}, null, spec(1, 2, 0, 0, 0), g);
    assertTrue(Double.isFinite(s[S_LOSS]) && Double.isFinite(g[0]));
  }

  @Test void gradientsMatchFiniteDifferences() {
    SplittableRandom rng = new SplittableRandom(7);
    int[][] specs = {{0, 0}, {1, 0}, {0, 1}, {0, 2}, {1, 1}, {1, 2}};
    for (int[] sp : specs) {
      for (double gamma : sp[0] == 1 ? new double[] {0.5, 2, 3} : new double[] {2}) {
        RewardLossSpec spec = new RewardLossSpec(sp[0], gamma, sp[1], 0.3, -5, 5, 0.05);
        // Awkward shape: 7 readouts, 5 pairs, one readout shared by two pairs, one in no pair.
        int[] c = {0, 2, 4, 6, 0};
        int[] r = {1, 3, 5, 2, 3};
        // Scores spread wide enough that some escape the log-barrier band (checks the extension too).
        Tensor rewards = GradCheck.random(rng, 7, 7);
        Tensor margins = GradCheck.random(rng, 0.5, 5);
        Tensor tc = Tensor.hostOf(c, 5), tr = Tensor.hostOf(r, 5);
        Tensor d = Tensor.host(io.rewardkit.kernels.DType.F64, 7);
        B.rewardLoss(rewards, tc, tr, margins, d, spec, 1.0);
        GradCheck.check("loss " + sp[0] + "/" + sp[1] + " gamma " + gamma, rewards, d,
            () -> B.rewardLoss(rewards, tc, tr, margins, null, spec, 1.0)[S_LOSS], 7, 1);
      }
    }
  }

  @Test void gradScaleAndF32AgreeWithF64() {
    double[] rw = {0.3, -0.4, 1.2, 0.9};
    float[] rf = {0.3f, -0.4f, 1.2f, 0.9f};
    RewardLossSpec spec = new RewardLossSpec(1, 2, 1, 0.2, -5, 5, 0.01);
    Tensor d64 = Tensor.host(io.rewardkit.kernels.DType.F64, 4);
    Tensor d32 = Tensor.host(io.rewardkit.kernels.DType.F32, 4);
    Tensor c = Tensor.hostOf(new int[] {0, 2}, 2), r = Tensor.hostOf(new int[] {1, 3}, 2);
    double[] s64 = B.rewardLoss(Tensor.hostOf(rw, 4), c, r, null, d64, spec, 0.25);
    double[] s32 = B.rewardLoss(Tensor.hostOf(rf, 4), c, r, null, d32, spec, 0.25);
    assertEquals(s64[S_LOSS], s32[S_LOSS], 1e-6);
    Tensor d1 = Tensor.host(io.rewardkit.kernels.DType.F64, 4);
    B.rewardLoss(Tensor.hostOf(rw, 4), c, r, null, d1, spec, 1.0);
    for (int i = 0; i < 4; i++) {
      assertEquals(0.25 * d1.getDouble(i), d64.getDouble(i), 1e-16);
      assertEquals(d64.getDouble(i), d32.getDouble(i), 1e-6);
    }
  }

  /** Backend contract: dRewards overwritten (each micro-batch's loss has its own rewards). */
  @Test void gradientOverwritesDRewards() {
    Tensor rewards = GradCheck.random(new SplittableRandom(28), 2, 7);
    Tensor c = Tensor.hostOf(new int[] {0, 2, 4, 6, 0}, 5), r = Tensor.hostOf(new int[] {1, 3, 5, 2, 3}, 5);
    RewardLossSpec spec = new RewardLossSpec(1, 2, 1, 0.3, -5, 5, 0.05);
    for (io.rewardkit.kernels.DType type : new io.rewardkit.kernels.DType[] {io.rewardkit.kernels.DType.F64,
        io.rewardkit.kernels.DType.F32}) {
      Tensor rw = GradCheck.cast(rewards, type);
      GradContract.check(B, "rewardLoss " + type, GradCheck.contractTolerance(type),
          d -> B.rewardLoss(rw, c, r, null, d[0], spec, 0.5), GradContract.overwrite("dRewards", type, 7));
    }
  }

  @Test void rejectsBadIndices() {
    assertThrows(RuntimeException.class, () -> run(new double[] {1, 0}, new int[] {0}, new int[] {2}, null,
        RewardLossSpec.ranking(), null));
    assertThrows(RuntimeException.class, () -> run(new double[] {1, 0}, new int[] {}, new int[] {}, null,
        RewardLossSpec.ranking(), null));
  }
}
