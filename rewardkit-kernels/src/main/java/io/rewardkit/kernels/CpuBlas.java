package io.rewardkit.kernels;

import io.rewardkit.kernels.cpu.CpuThreads;
import io.rewardkit.kernels.cpu.Gemm;
import io.rewardkit.kernels.cpu.GemmBf16;
import io.rewardkit.kernels.cpu.OpenBlasQuery;
import io.rewardkit.kernels.cpu.RewardKitCpu;
import io.rewardkit.kernels.cpu.VecExp;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * OpenBLAS (Bytedeco preset, no LAPACK) as the CPU GEMM, on one thread pool: OpenBLAS always runs
 * single-threaded, and {@link #sgemm} stripes a large product over the OpenMP threads of the calling thread
 * ({@link CpuThreads#set}), one OpenBLAS call per stripe. OPENBLAS_NUM_THREADS from the user's environment is
 * overridden (librewardkit_env sets it to 1 before OpenBLAS loads).
 */
public final class CpuBlas {
  private CpuBlas() {}

  private static volatile boolean loaded;

  /** Loads the CPU kernels, then OpenBLAS (single-threaded), and hands cblas_sgemm to the striped GEMM. */
  public static void load() {
    if (loaded) return;
    synchronized (CpuBlas.class) {
      if (loaded) return;
      RewardKitCpu.load();  // first: librewardkit_env sets OPENBLAS_NUM_THREADS=1 before OpenBLAS reads it
      Loader.load(openblas_nolapack.class);
      // Also when OpenBLAS was loaded before us (another library, an embedding application): one thread.
      OpenBlasQuery.setNumThreads(1);
      Pointer sgemm = Loader.addressof("cblas_sgemm");
      if (sgemm == null) throw new BackendUnavailableException("cpu: OpenBLAS loaded but cblas_sgemm not found");
      Gemm.set_blas_sgemm(sgemm);
      loaded = true;
    }
  }

  /**
   * Row-major {@code C[m, n] = alpha · op(A) · op(B) + beta · C} striped over the calling thread's OpenMP
   * threads, never over K: bit-identical for a fixed thread count. Row stripes give one whole call's bits (each
   * row's result independent of the other rows: use for activations); {@code allowColumns} also lets the plan
   * split the columns when the rows are too few (weight gradients), which may change the last bits vs one call.
   */
  public static void sgemm(boolean allowColumns, boolean transA, boolean transB, long m, long n, long k, float alpha,
      FloatPointer a, long lda, FloatPointer b, long ldb, float beta, FloatPointer c, long ldc) {
    Gemm.sgemm(allowColumns, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }

  /**
   * Whether {@link #bf16Gemm} runs here: the CPU has AVX512-BF16 (and AVX512F/BW/VL, zmm state enabled by the OS)
   * and it was not disabled (environment RK_DISABLE_AVX512BF16=1 at the first call, or {@link #setBf16Disabled}).
   */
  public static boolean bf16Supported() {
    RewardKitCpu.load();
    return GemmBf16.bf16_gemm_supported();
  }

  /** For tests: make {@link #bf16Supported} answer false (true) or ask the CPU again (false). */
  public static void setBf16Disabled(boolean disabled) {
    RewardKitCpu.load();
    GemmBf16.set_bf16_gemm_disabled(disabled);
  }

  /**
   * The same product as {@link #sgemm} with op(A) and op(B) rounded to bf16 and fp32 accumulation (AVX512-BF16;
   * throws where {@link #bf16Supported} is false). Each element of C is summed in one fixed k order, so results do
   * not depend on the thread count, the stripe plan ({@code allowColumns}) or the other rows.
   */
  public static void bf16Gemm(boolean allowColumns, boolean transA, boolean transB, long m, long n, long k, float alpha,
      FloatPointer a, long lda, FloatPointer b, long ldb, float beta, FloatPointer c, long ldc) {
    GemmBf16.bf16_gemm(allowColumns, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }

  /**
   * The number of threads OpenBLAS uses inside one GEMM call (1), asked from OpenBLAS itself (the preset's
   * {@code blas_get_num_threads()} only echoes a Java-side setting and is -1 by default).
   */
  public static int threads() {
    load();
    return OpenBlasQuery.numThreads();
  }

  /**
   * A one-line note when OPENBLAS_CORETYPE in the environment holds OpenBLAS to kernels narrower than the CPU runs
   * (e.g. {@code Haswell}, AVX2, on an AVX-512 CPU), else null. The setting is the environment's own and is kept;
   * the note says what it costs (sgemm at 113 vs 208 GFLOP/s on one core of the project's AMD EPYC VM,
   * benchmarks/RESULTS.md). Whether the CPU runs AVX-512F is the kernels' own run-time check (vec_exp's).
   */
  public static String coreTypeNotice() {
    String core;
    try {
      load();
      core = OpenBlasQuery.coreName();
    } catch (Throwable t) {
      return null;
    }
    return coreTypeNotice(System.getenv("OPENBLAS_CORETYPE"), core == null ? null : core.trim(),
        VecExp.vec_exp_isa_supported(VecExp.AVX512));
  }

  /** The rule of {@link #coreTypeNotice()}: {@code cpuAvx512} says whether the CPU runs AVX-512F. */
  static String coreTypeNotice(String coreTypeEnv, String core, boolean cpuAvx512) {
    if (coreTypeEnv == null || coreTypeEnv.isBlank() || core == null) return null;
    if (!cpuAvx512 || AVX512_CORES.contains(core.toLowerCase(java.util.Locale.ROOT))) return null;
    return "note: OPENBLAS_CORETYPE=" + coreTypeEnv.trim() + " (set in the environment) holds OpenBLAS to its " + core
        + " kernels on this AVX-512 CPU; unset it to let OpenBLAS pick its AVX-512 kernels (about 2x the fp32 GEMM"
        + " speed, measured on an AMD EPYC)";
  }

  /** OpenBLAS 0.3.x core names whose sgemm kernels use AVX-512 (Zen 4/5 run the Cooperlake or SkylakeX ones). */
  private static final java.util.Set<String> AVX512_CORES = java.util.Set.of("skylakex", "cooperlake", "sapphirerapids");

  /** E.g. {@code 0.3.31 (Haswell kernels, 1 thread per GEMM stripe, 2 OpenMP threads)}, or why OpenBLAS is unavailable. */
  public static String version() {
    try {
      int threads = threads();
      String core = OpenBlasQuery.coreName();
      return openblas_nolapack.OPENBLAS_VERSION.trim().replaceFirst("^OpenBLAS\\s*", "") + " ("
          + (core == null ? "" : core.trim() + " kernels, ")
          + (threads > 0 ? threads + (threads == 1 ? " thread" : " threads") : "thread count unknown")
          + " per GEMM stripe, " + CpuThreads.get_cpu_threads() + " OpenMP threads)";
    } catch (Throwable t) {
      return "(unavailable: " + t.getMessage() + ")";
    }
  }
}
