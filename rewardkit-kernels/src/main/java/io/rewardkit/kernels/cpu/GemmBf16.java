package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * Row-major GEMM with bf16 operands and fp32 accumulation on CPUs with AVX512-BF16 ({@code rewardkit/gemm_bf16.h}):
 * fp32 in and out, op(A) and op(B) rounded to bf16 while packed, products summed in fp32 by vdpbf16ps in a fixed
 * k order (bit-identical for any thread count, stripe plan or row offset), and its scalar reference. Use through
 * {@link io.rewardkit.kernels.CpuBlas#bf16Gemm}.
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/gemm_bf16.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class GemmBf16 {
  static { Loader.load(); }
  private GemmBf16() {}

  /** AVX512-BF16 present, the OS saves zmm state, and not disabled (RK_DISABLE_AVX512BF16, {@link #set_bf16_gemm_disabled}). */
  @Cast("bool") public static native boolean bf16_gemm_supported();

  /** For tests: pretend the CPU lacks AVX512-BF16 (true), or use it again (false). */
  public static native void set_bf16_gemm_disabled(@Cast("bool") boolean disabled);

  public static native void bf16_gemm(@Cast("bool") boolean allowCols, @Cast("bool") boolean transA, @Cast("bool") boolean transB,
      long m, long n, long k, float alpha, @Const FloatPointer a, long lda, @Const FloatPointer b, long ldb, float beta,
      FloatPointer c, long ldc);

  public static native void bf16_gemm_striped(int stripes, @Cast("bool") boolean rows, @Cast("bool") boolean transA,
      @Cast("bool") boolean transB, long m, long n, long k, float alpha, @Const FloatPointer a, long lda,
      @Const FloatPointer b, long ldb, float beta, FloatPointer c, long ldc);

  public static native void bf16_gemm_reference(@Cast("bool") boolean transA, @Cast("bool") boolean transB, long m, long n,
      long k, float alpha, @Const FloatPointer a, long lda, @Const FloatPointer b, long ldb, float beta, FloatPointer c,
      long ldc);

  /** fp32 -> bf16 bits as the kernel rounds them (nearest even, NaN kept, subnormal -> signed zero). */
  @Cast("uint16_t") public static native short bf16_round(float x);
}
