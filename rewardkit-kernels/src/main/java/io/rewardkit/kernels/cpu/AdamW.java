package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/** AdamW update of one fp32 parameter tensor in place; see {@code native/include/rewardkit/adamw.h}. All buffers {@code [n]}. */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/adamw.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class AdamW {
  static { Loader.load(); }
  private AdamW() {}

  public static native void adamw_update(FloatPointer param, @Const FloatPointer grad, FloatPointer m, FloatPointer v,
      @Cast("int64_t") long n, double lr, double beta1, double beta2, double eps, double weightDecay,
      double biasCorrection1, double biasCorrection2, double gradScale);
}
