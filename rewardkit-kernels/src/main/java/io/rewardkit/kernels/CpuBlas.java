package io.rewardkit.kernels;

import io.rewardkit.kernels.cpu.OpenBlasQuery;
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

  /**
   * The number of threads OpenBLAS uses for a GEMM, asked from OpenBLAS itself (the preset's
   * {@code blas_get_num_threads()} only echoes a Java-side setting and is -1 by default).
   */
  public static int threads() {
    load();
    return OpenBlasQuery.numThreads();
  }

  /** E.g. {@code 0.3.31 (Haswell kernels, 2 threads)}, or why OpenBLAS is unavailable. */
  public static String version() {
    try {
      int threads = threads();
      String core = OpenBlasQuery.coreName();
      return openblas_nolapack.OPENBLAS_VERSION.trim().replaceFirst("^OpenBLAS\\s*", "") + " ("
          + (core == null ? "" : core.trim() + " kernels, ")
          + (threads > 0 ? threads + (threads == 1 ? " thread)" : " threads)") : "thread count unknown)");
    } catch (Throwable t) {
      return "(unavailable: " + t.getMessage() + ")";
    }
  }
}
