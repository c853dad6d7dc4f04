package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/** Deterministic sum of squares of a gradient buffer {@code [n]}; see {@code native/include/rewardkit/grad_norm.h}. */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/grad_norm.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class GradNorm {
  static { Loader.load(); }
  private GradNorm() {}

  public static native double grad_sumsq(@Const FloatPointer g, @Cast("int64_t") long n);
  public static native double grad_sumsq(@Const DoublePointer g, @Cast("int64_t") long n);
}
