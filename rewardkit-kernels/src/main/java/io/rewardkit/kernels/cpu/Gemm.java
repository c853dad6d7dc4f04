package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * Row-major sgemm striped over our own OpenMP threads, each stripe one single-threaded OpenBLAS call
 * ({@code rewardkit/gemm.h}). Use through {@link io.rewardkit.kernels.CpuBlas}, which hands over the address
 * of OpenBLAS's {@code cblas_sgemm} first.
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/gemm.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class Gemm {
  static { Loader.load(); }
  private Gemm() {}

  /** Rows per row stripe / row tile (gemm.h's kRowTile). */
  public static native int row_tile();

  public static native void set_blas_sgemm(Pointer cblasSgemmAddress);

  /** +s row stripes, -s column stripes, 1: one call (see gemm.h). */
  public static native int sgemm_stripes(long m, long n, long k, int threads, @Cast("bool") boolean allowCols);

  public static native void sgemm(@Cast("bool") boolean allowCols, @Cast("bool") boolean transA, @Cast("bool") boolean transB, long m, long n, long k,
      float alpha, @Const FloatPointer a, long lda, @Const FloatPointer b, long ldb, float beta, FloatPointer c, long ldc);

  public static native void sgemm_striped(int stripes, @Cast("bool") boolean rows, @Cast("bool") boolean transA, @Cast("bool") boolean transB,
      long m, long n, long k, float alpha, @Const FloatPointer a, long lda, @Const FloatPointer b, long ldb, float beta,
      FloatPointer c, long ldc);
}
