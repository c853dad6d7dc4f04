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
 * RMSNorm over the last dimension: {@code out = x / sqrt(mean(x^2) + eps) * w}.
 * Shapes: out, x, dout, dx {@code [rows, dim]}; w, dw {@code [dim]}; rstd {@code [rows]}.
 * Backward overwrites {@code dx} (or adds to it when {@code p.accumulate()}) and accumulates into {@code dw}.
 * {@code residual_rmsnorm_forward}: {@code y = x + delta}, then the forward of y (y, delta like x).
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/rmsnorm.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class RmsNorm {
  static { Loader.load(); }
  private RmsNorm() {}

  public static native void rmsnorm_forward(FloatPointer out, FloatPointer rstd, @Const FloatPointer x,
      @Const FloatPointer w, @Const @ByRef RmsNormParams p);
  public static native void rmsnorm_forward(DoublePointer out, DoublePointer rstd, @Const DoublePointer x,
      @Const DoublePointer w, @Const @ByRef RmsNormParams p);

  public static native void residual_rmsnorm_forward(FloatPointer y, FloatPointer out, FloatPointer rstd,
      @Const FloatPointer x, @Const FloatPointer delta, @Const FloatPointer w, @Const @ByRef RmsNormParams p);
  public static native void residual_rmsnorm_forward(DoublePointer y, DoublePointer out, DoublePointer rstd,
      @Const DoublePointer x, @Const DoublePointer delta, @Const DoublePointer w, @Const @ByRef RmsNormParams p);

  public static native void rmsnorm_backward(FloatPointer dx, FloatPointer dw, @Const FloatPointer dout,
      @Const FloatPointer x, @Const FloatPointer w, @Const FloatPointer rstd, @Const @ByRef RmsNormParams p);
  public static native void rmsnorm_backward(DoublePointer dx, DoublePointer dw, @Const DoublePointer dout,
      @Const DoublePointer x, @Const DoublePointer w, @Const DoublePointer rstd, @Const @ByRef RmsNormParams p);
}
