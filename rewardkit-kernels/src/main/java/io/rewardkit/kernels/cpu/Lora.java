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
 * LoRA beside a frozen linear: {@code out += s · (x · Aᵀ) · Bᵀ}. Shapes: out [T, O] (accumulated),
 * u [T, r] (saved x · Aᵀ), x [T, I], a [r, I], b [O, r]; backward: dx [T, I] (accumulated, may be
 * null), da [r, I] and db [O, r] (accumulated), du [T, r] scratch. See {@code rewardkit/lora.h}.
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/lora.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class Lora {
  static { Loader.load(); }
  private Lora() {}

  public static native void lora_forward(FloatPointer out, FloatPointer u, @Const FloatPointer x, @Const FloatPointer a,
      @Const FloatPointer b, @Cast("int64_t") long tokens, @Cast("int64_t") long in, @Cast("int64_t") long outFeatures,
      @Cast("int64_t") long rank, double scale);
  public static native void lora_forward(DoublePointer out, DoublePointer u, @Const DoublePointer x, @Const DoublePointer a,
      @Const DoublePointer b, @Cast("int64_t") long tokens, @Cast("int64_t") long in, @Cast("int64_t") long outFeatures,
      @Cast("int64_t") long rank, double scale);

  public static native void lora_backward(FloatPointer dx, FloatPointer da, FloatPointer db, FloatPointer du,
      @Const FloatPointer dout, @Const FloatPointer x, @Const FloatPointer u, @Const FloatPointer a, @Const FloatPointer b,
      @Cast("int64_t") long tokens, @Cast("int64_t") long in, @Cast("int64_t") long outFeatures, @Cast("int64_t") long rank,
      double scale);
  public static native void lora_backward(DoublePointer dx, DoublePointer da, DoublePointer db, DoublePointer du,
      @Const DoublePointer dout, @Const DoublePointer x, @Const DoublePointer u, @Const DoublePointer a, @Const DoublePointer b,
      @Cast("int64_t") long tokens, @Cast("int64_t") long in, @Cast("int64_t") long outFeatures, @Cast("int64_t") long rank,
      double scale);
}
