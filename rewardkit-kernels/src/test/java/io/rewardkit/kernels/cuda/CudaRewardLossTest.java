package io.rewardkit.kernels.cuda;

import static io.rewardkit.kernels.cuda.CudaTestSupport.f32;
import static io.rewardkit.kernels.cuda.CudaTestSupport.i32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The fused GPU reward loss against an independent double-precision Java transcription of the
 * formulas in rewardkit/reward_loss.h (ranking/focal; none/l2/log-barrier inside its band; centering).
 * Both sides compute in double from the same fp32 rewards, so agreement is to ~1e-12 relative.
 */
class CudaRewardLossTest extends CudaTestBase {
  private static double sigmoid(double x) { return 1 / (1 + Math.exp(-x)); }

  @ParameterizedTest
  @CsvSource({"0, 0, 0, 0", "1, 2.0, 2, 0.01", "0, 0, 1, 0.001"})
  void matchesReference(int lossType, double gamma, int penaltyType, double centerCoef) {
    int pairs = 9, r = 2 * pairs + 1;  // one reward in no pair: its gradient must be 0
    float[] rewards = new float[r];
    for (int i = 0; i < r; i++) rewards[i] = (float) (rnd.nextGaussian() * 1.5);
    int[] chosen = new int[pairs], rejected = new int[pairs];
    for (int p = 0; p < pairs; p++) { chosen[p] = 2 * p; rejected[p] = 2 * p + 1; }
    double lo = -10, hi = 10, penaltyWeight = 0.05, gradScale = 0.5;

    double pairSum = 0, penSum = 0, centerSum = 0;
    double[] grad = new double[r];
    for (int p = 0; p < pairs; p++) {
      double rc = rewards[chosen[p]], rr = rewards[rejected[p]], d = rc - rr, pd = sigmoid(d);
      double l, dl;
      if (lossType == 0 || pd <= 0.5) { l = -Math.log(pd); dl = -(1 - pd); }
      else {
        double base = 2 * (1 - pd), f = Math.pow(base, gamma);
        double df = gamma * Math.pow(base, gamma - 1) * (-2 * pd * (1 - pd));
        l = -f * Math.log(pd); dl = -(df * Math.log(pd) + f * (1 - pd));
      }
      double[] pen = new double[2], pg = new double[2];
      double[] xs = {rc, rr};
      for (int j = 0; j < 2; j++) {
        double x = xs[j];
        if (penaltyType == 2) { pen[j] = x * x; pg[j] = 2 * x; }
        else if (penaltyType == 1) { pen[j] = -Math.log(x - lo) - Math.log(hi - x); pg[j] = -1 / (x - lo) + 1 / (hi - x); }
      }
      double s = rc + rr;
      pairSum += l; penSum += 0.5 * (pen[0] + pen[1]); centerSum += s * s;
      grad[chosen[p]] += (dl + penaltyWeight * 0.5 * pg[0] + centerCoef * 2 * s) / pairs * gradScale;
      grad[rejected[p]] += (-dl + penaltyWeight * 0.5 * pg[1] + centerCoef * 2 * s) / pairs * gradScale;
    }
    double loss = pairSum / pairs + penaltyWeight * penSum / pairs + centerCoef * centerSum / pairs;

    Tensor dR = gpu.allocate(DType.F32, r), stats = gpu.allocate(DType.F64, 11);
    gpu.rewardLoss(dR, stats, f32(gpu, rewards, r), i32(gpu, chosen, pairs), i32(gpu, rejected, pairs), null, lossType,
        gamma, penaltyType, penaltyWeight, lo, hi, centerCoef, gradScale);
    double[] st = gpu.downloadDoubles(stats);
    float[] g = gpu.downloadFloats(dR);
    assertEquals(loss, st[0], 1e-9 * Math.max(1, Math.abs(loss)), "loss");
    for (int i = 0; i < r; i++) assertEquals(grad[i], g[i], 1e-6 * Math.max(1e-3, Math.abs(grad[i])), "dR[" + i + "]");
    assertEquals(0f, g[r - 1], "unpaired reward gets no gradient");

    rejected[0] = r + 5;  // out of range: NaN stats, not a crash or a silent read
    gpu.rewardLoss(dR, stats, f32(gpu, rewards, r), i32(gpu, chosen, pairs), i32(gpu, rejected, pairs), null, lossType,
        gamma, penaltyType, penaltyWeight, lo, hi, centerCoef, gradScale);
    assertTrue(Double.isNaN(gpu.downloadDoubles(stats)[0]));
  }
}
