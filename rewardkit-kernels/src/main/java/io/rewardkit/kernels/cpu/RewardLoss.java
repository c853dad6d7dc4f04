package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * Fused reward loss (ranking / focal + penalty + centering) and its gradient; see
 * {@code native/include/rewardkit/reward_loss.h}. Shapes: rewards, dRewards {@code [R]};
 * chosen, rejected, margins {@code [P]}; stats {@code [11]}. margins and dRewards may be null.
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/reward_loss.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class RewardLoss {
  static { Loader.load(); }
  private RewardLoss() {}

  public static native void reward_loss_forward_backward(@Const FloatPointer rewards, @Cast("const int32_t*") IntPointer chosen,
      @Cast("const int32_t*") IntPointer rejected, @Const FloatPointer margins, FloatPointer dRewards, DoublePointer stats,
      @Cast("int64_t") long numRewards, @Cast("int64_t") long numPairs, int lossType, double gamma, int penaltyType,
      double penaltyWeight, double lower, double upper, double centerCoef, double gradScale);
  public static native void reward_loss_forward_backward(@Const DoublePointer rewards, @Cast("const int32_t*") IntPointer chosen,
      @Cast("const int32_t*") IntPointer rejected, @Const DoublePointer margins, DoublePointer dRewards, DoublePointer stats,
      @Cast("int64_t") long numRewards, @Cast("int64_t") long numPairs, int lossType, double gamma, int penaltyType,
      double penaltyWeight, double lower, double upper, double centerCoef, double gradScale);
}
