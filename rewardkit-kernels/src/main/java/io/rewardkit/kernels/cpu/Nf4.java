package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * NF4 with double quantisation (bitsandbytes {@code quantize_4bit(nf4, blocksize=64, compress_statistics=True)};
 * format in {@code rewardkit/nf4.h}). Shapes for n weight elements: packed u8 [ceil(n/2)], qabsmax u8
 * [ceil(n/64)], absmax2 f32 [ceil(n/64/256)], offset f32 [1]; w and out [n].
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/nf4.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class Nf4 {
  static { Loader.load(); }
  private Nf4() {}

  public static native void nf4_quantize(@Cast("uint8_t*") BytePointer packed, @Cast("uint8_t*") BytePointer qabsmax,
      FloatPointer absmax2, FloatPointer offset, @Const FloatPointer w, @Cast("int64_t") long n);

  public static native void nf4_dequantize(FloatPointer out, @Cast("const uint8_t*") BytePointer packed,
      @Cast("const uint8_t*") BytePointer qabsmax, @Const FloatPointer absmax2, float offset, @Cast("int64_t") long n);
  public static native void nf4_dequantize(DoublePointer out, @Cast("const uint8_t*") BytePointer packed,
      @Cast("const uint8_t*") BytePointer qabsmax, @Const FloatPointer absmax2, float offset, @Cast("int64_t") long n);
}
