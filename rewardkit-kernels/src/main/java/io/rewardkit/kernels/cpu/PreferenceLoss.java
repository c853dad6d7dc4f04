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
 * Fused preference losses (DPO, IPO, CPO, SimPO, ORPO, KTO), see {@code native/include/rewardkit/preference_loss.h}.
 * Shapes: logps, refLogps, lengths, promptLogps, promptLengths, labels, dLogps, dPromptLogps {@code [S]}; chosen, rejected {@code [P]}; klLogps, refKlLogps
 * {@code [K]}; stats {@code [11]}. Optional buffers may be null.
 */
@Properties(inherit = RewardKitCpu.class,
    value = @Platform(include = "rewardkit/preference_loss.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class PreferenceLoss {
  static { Loader.load(); }
  private PreferenceLoss() {}

  public static native void preference_loss_forward_backward(@Const FloatPointer logps, @Const FloatPointer refLogps,
      @Cast("const int32_t*") IntPointer lengths, @Const FloatPointer promptLogps,
      @Cast("const int32_t*") IntPointer promptLengths, @Cast("const int32_t*") IntPointer chosen,
      @Cast("const int32_t*") IntPointer rejected, @Cast("const int32_t*") IntPointer labels,
      @Const FloatPointer klLogps, @Const FloatPointer refKlLogps, FloatPointer dLogps, FloatPointer dPromptLogps,
      DoublePointer stats,
      @Cast("int64_t") long numResponses, @Cast("int64_t") long numPairs, @Cast("int64_t") long numKl, int lossType,
      double beta, double labelSmoothing, double nllAlpha, double simpoGamma, double desirableWeight,
      double undesirableWeight, double gradScale);
  public static native void preference_loss_forward_backward(@Const DoublePointer logps, @Const DoublePointer refLogps,
      @Cast("const int32_t*") IntPointer lengths, @Const DoublePointer promptLogps,
      @Cast("const int32_t*") IntPointer promptLengths, @Cast("const int32_t*") IntPointer chosen,
      @Cast("const int32_t*") IntPointer rejected, @Cast("const int32_t*") IntPointer labels,
      @Const DoublePointer klLogps, @Const DoublePointer refKlLogps, DoublePointer dLogps, DoublePointer dPromptLogps,
      DoublePointer stats,
      @Cast("int64_t") long numResponses, @Cast("int64_t") long numPairs, @Cast("int64_t") long numKl, int lossType,
      double beta, double labelSmoothing, double nllAlpha, double simpoGamma, double desirableWeight,
      double undesirableWeight, double gradScale);
}
