package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * SwiGLU: {@code out = silu(gate) * up}. Shapes: every buffer {@code [n]} (a flattened {@code [T, F]}).
 * Backward overwrites {@code dgate} and {@code dup}.
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/swiglu.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class Swiglu {
  static { Loader.load(); }
  private Swiglu() {}

  public static native void swiglu_forward(FloatPointer out, @Const FloatPointer gate, @Const FloatPointer up,
      @Cast("int64_t") long n);
  public static native void swiglu_forward(DoublePointer out, @Const DoublePointer gate, @Const DoublePointer up,
      @Cast("int64_t") long n);

  public static native void swiglu_backward(FloatPointer dgate, FloatPointer dup, @Const FloatPointer dout,
      @Const FloatPointer gate, @Const FloatPointer up, @Cast("int64_t") long n);
  public static native void swiglu_backward(DoublePointer dgate, DoublePointer dup, @Const DoublePointer dout,
      @Const DoublePointer gate, @Const DoublePointer up, @Cast("int64_t") long n);
}
