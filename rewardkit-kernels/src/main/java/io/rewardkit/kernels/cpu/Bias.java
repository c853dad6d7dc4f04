package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.ByRef;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * Linear-layer bias (the GEMM itself is OpenBLAS): {@code out[r] += bias}, {@code dbias += Σ_r dout[r]}.
 * Shapes: out, dout {@code [rows, cols]}; bias, dbias {@code [cols]}. Backward accumulates into {@code dbias}.
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/bias.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class Bias {
  static { Loader.load(); }
  private Bias() {}

  public static native void bias_forward(FloatPointer out, @Const FloatPointer bias, @Const @ByRef BiasParams p);
  public static native void bias_forward(DoublePointer out, @Const DoublePointer bias, @Const @ByRef BiasParams p);

  public static native void bias_backward(FloatPointer dbias, @Const FloatPointer dout, @Const @ByRef BiasParams p);
  public static native void bias_backward(DoublePointer dbias, @Const DoublePointer dout, @Const @ByRef BiasParams p);
}
