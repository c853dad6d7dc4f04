package io.rewardkit.kernels.cuda;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/** Binding of {@code rewardkit/cuda/reward_loss.h} (fused reward loss on device buffers). */
@Properties(inherit = RewardKitCuda.class,
    value = @Platform(include = "rewardkit/cuda/reward_loss.h", library = "jnirewardkit_cuda"))
@Namespace("rk::cuda")
public final class CudaRewardLoss {
  static { Loader.load(); }
  private CudaRewardLoss() {}

  public static native void reward_loss_forward_backward(@Cast("const float*") long rewards,
      @Cast("const int32_t*") long chosen, @Cast("const int32_t*") long rejected, @Cast("const float*") long margins,
      @Cast("float*") long dRewards, @Cast("double*") long stats, @Cast("int64_t") long numRewards,
      @Cast("int64_t") long numPairs, int lossType, double gamma, int penaltyType, double penaltyWeight, double lower,
      double upper, double centerCoef, double gradScale, @Cast("void*") long stream);
}
