package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.ByRef;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * Rotary embedding in place, HF {@code rotate_half} pairing (i, i + hd/2); backward applies the
 * transpose rotation in place. Shapes: x, dx {@code [tokens, heads, headDim]}; positions
 * {@code [tokens]} (I32, in {@code [0, maxPos)}); cos, sin {@code [maxPos, headDim/2]}.
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/rope.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class Rope {
  static { Loader.load(); }
  private Rope() {}

  public static native void rope_forward(FloatPointer x, @Const IntPointer positions, @Const FloatPointer cos,
      @Const FloatPointer sin, @Const @ByRef RopeParams p);
  public static native void rope_forward(DoublePointer x, @Const IntPointer positions, @Const DoublePointer cos,
      @Const DoublePointer sin, @Const @ByRef RopeParams p);

  public static native void rope_backward(FloatPointer dx, @Const IntPointer positions, @Const FloatPointer cos,
      @Const FloatPointer sin, @Const @ByRef RopeParams p);
  public static native void rope_backward(DoublePointer dx, @Const IntPointer positions, @Const DoublePointer cos,
      @Const DoublePointer sin, @Const @ByRef RopeParams p);
}
