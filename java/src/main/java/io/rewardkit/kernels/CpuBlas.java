package io.rewardkit.kernels;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * OpenBLAS (Bytedeco preset, no LAPACK) as the CPU GEMM. Its thread count comes from
 * OPENBLAS_NUM_THREADS (default: all cores).
 */
public final class CpuBlas {
  private CpuBlas() {}

  /** Loads OpenBLAS; call before the first GEMM. */
  public static void load() {
    Loader.load(openblas_nolapack.class);
  }

  public static String version() {
    try {
      load();
      return "(" + openblas_nolapack.blas_get_num_threads() + " threads)";
    } catch (Throwable t) {
      return "(unavailable: " + t.getMessage() + ")";
    }
  }
}
