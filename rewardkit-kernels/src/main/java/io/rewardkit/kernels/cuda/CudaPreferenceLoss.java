package io.rewardkit.kernels.cuda;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/** Binding of {@code rewardkit/cuda/preference_loss.h} (fused preference losses on device buffers). */
@Properties(inherit = RewardKitCuda.class,
    value = @Platform(include = "rewardkit/cuda/preference_loss.h", library = "jnirewardkit_cuda"))
@Namespace("rk::cuda")
public final class CudaPreferenceLoss {
  static { Loader.load(); }
  private CudaPreferenceLoss() {}

  public static native void preference_loss_forward_backward(@Cast("const float*") long logps,
      @Cast("const float*") long refLogps, @Cast("const int32_t*") long lengths, @Cast("const float*") long promptLogps,
      @Cast("const int32_t*") long promptLengths, @Cast("const int32_t*") long chosen,
      @Cast("const int32_t*") long rejected, @Cast("const int32_t*") long labels, @Cast("const float*") long klLogps,
      @Cast("const float*") long refKlLogps, @Cast("float*") long dLogps, @Cast("float*") long dPromptLogps, @Cast("double*") long stats,
      @Cast("int64_t") long numResponses, @Cast("int64_t") long numPairs, @Cast("int64_t") long numKl, int lossType,
      double beta, double labelSmoothing, double nllAlpha, double simpoGamma, double desirableWeight,
      double undesirableWeight, double gradScale, @Cast("void*") long stream);
}
