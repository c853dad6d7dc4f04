package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/** Elementwise {@code acc += x} and {@code out = a + b}. Shapes: all {@code [n]}. */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/add.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class Add {
  static { Loader.load(); }
  private Add() {}

  public static native void add_inplace(FloatPointer acc, @Const FloatPointer x, @Cast("int64_t") long n);
  public static native void add_inplace(DoublePointer acc, @Const DoublePointer x, @Cast("int64_t") long n);
  public static native void add_out(FloatPointer out, @Const FloatPointer a, @Const FloatPointer b, @Cast("int64_t") long n);
  public static native void add_out(DoublePointer out, @Const DoublePointer a, @Const DoublePointer b, @Cast("int64_t") long n);
}
