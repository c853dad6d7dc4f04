package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/** Elementwise {@code out = a + b} (out may be a: {@code acc += x}). Shapes: all {@code [n]}. */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/add.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class Add {
  static { Loader.load(); }
  private Add() {}

  public static native void add_out(FloatPointer out, @Const FloatPointer a, @Const FloatPointer b, @Cast("int64_t") long n);
  public static native void add_out(DoublePointer out, @Const DoublePointer a, @Const DoublePointer b, @Cast("int64_t") long n);
}
