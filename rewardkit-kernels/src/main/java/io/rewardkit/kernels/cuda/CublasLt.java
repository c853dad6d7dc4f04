package io.rewardkit.kernels.cuda;

import static org.bytedeco.cuda.global.cublas.*;
import static org.bytedeco.cuda.global.cudart.CUDA_R_16BF;
import static org.bytedeco.cuda.global.cudart.CUDA_R_32F;

import io.rewardkit.kernels.CudaLibraries;
import java.util.HashMap;
import java.util.Map;
import org.bytedeco.cuda.cublas.cublasLtContext;
import org.bytedeco.cuda.cublas.cublasLtMatmulDescOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulHeuristicResult_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulPreferenceOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatrixLayoutOpaque_t;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * The only class that touches Bytedeco's CUDA presets (cuBLASLt). It is reached only after the
 * probe found a GPU: those classes fail to load without {@code libcuda.so.1} and stay broken for
 * the rest of the JVM, so {@link #load()} catches every Throwable once and remembers the reason.
 *
 * <p>GEMMs are column-major in cuBLAS; a row-major [r, c] matrix is its column-major transpose, so
 * every call below is written in the transposed form (see {@link CudaBackend#linearForward}).
 * bf16 inputs, fp32 accumulation ({@code CUBLAS_COMPUTE_32F}); output bf16 or fp32; optional bias
 * epilogue. The heuristic's algorithm is cached per shape.
 */
final class CublasLt implements AutoCloseable {
  private static volatile String loadError;
  private static volatile boolean loaded;

  /**
   * Loads cuBLASLt through JavaCPP (once per JVM), after {@link CudaLibraries#preload()} has loaded the
   * CUDA 13 libraries it links from wherever they were found; or throws BackendUnavailableException
   * saying what is missing and how to get it.
   */
  static synchronized void load() {
    if (loaded) return;
    if (loadError != null) throw new io.rewardkit.kernels.BackendUnavailableException(loadError);
    CudaLibraries.Report libs = CudaLibraries.preload();
    if (libs.problem() != null) {
      loadError = "--device cuda: the GEMMs need the CUDA 13 libraries: " + libs.problem();
      throw new io.rewardkit.kernels.BackendUnavailableException(loadError);
    }
    try {
      Loader.load(org.bytedeco.cuda.global.cublas.class);
      loaded = true;
    } catch (Throwable t) {
      loadError = "--device cuda: cuBLAS/cuBLASLt (CUDA 13) could not be loaded: " + t.getMessage()
          + " (libraries preloaded from " + libs.libs().get(0).path().getParent() + " and beside; see `rewardkit info`;"
          + " -Dorg.bytedeco.javacpp.logger.debug=true shows every lookup)";
      throw new io.rewardkit.kernels.BackendUnavailableException(loadError, t);
    }
  }

  /** Null when cuBLASLt loads here (a GPU and its driver present), else why not. Never throws. */
  static String loadProblem() {
    try {
      load();
      return null;
    } catch (Throwable t) {
      return t.getMessage();
    }
  }

  private static final class Raw extends Pointer {
    Raw(long address) { this.address = address; }
  }

  private record Key(int transA, int transB, long m, long n, long k, long lda, long ldb, long ldd, int outType,
      boolean bias, boolean accumulate) {}

  private static final class Plan {
    cublasLtMatmulDescOpaque_t desc;
    cublasLtMatrixLayoutOpaque_t a, b, c;
    cublasLtMatmulHeuristicResult_t heuristic;
  }

  private final cublasLtContext handle = new cublasLtContext();
  private final CUstream_st stream;
  private final long workspace;
  private final long workspaceBytes;
  private final Map<Key, Plan> plans = new HashMap<>();
  private final FloatPointer one = new FloatPointer(1f);
  private final FloatPointer zero = new FloatPointer(0f);
  private final FloatPointer alphaBuf = new FloatPointer(1f);
  private final LongPointer biasAddress = new LongPointer(1);

  CublasLt(long streamAddress, long workspace, long workspaceBytes) {
    load();
    check(cublasLtCreate(handle), "cublasLtCreate");
    this.stream = new CUstream_st(new Raw(streamAddress));
    this.workspace = workspace;
    this.workspaceBytes = workspaceBytes;
  }

  private static void check(int status, String what) {
    if (status != CUBLAS_STATUS_SUCCESS) {
      throw new IllegalStateException(what + " failed: " + cublasLtGetStatusString(status).getString()
          + " (status " + status + ")");
    }
  }

  private static cublasLtMatrixLayoutOpaque_t layout(int type, long rows, long cols, long ld) {
    PointerPointer<Pointer> pp = new PointerPointer<>(1);
    check(cublasLtMatrixLayoutCreate(pp, type, rows, cols, ld), "cublasLtMatrixLayoutCreate");
    return new cublasLtMatrixLayoutOpaque_t(pp.get(0));
  }

  private Plan plan(Key key) {
    Plan p = plans.get(key);
    if (p != null) return p;
    p = new Plan();
    PointerPointer<Pointer> pp = new PointerPointer<>(1);
    check(cublasLtMatmulDescCreate(pp, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
    p.desc = new cublasLtMatmulDescOpaque_t(pp.get(0));
    check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, new IntPointer(1).put(key.transA()), 4),
        "set TRANSA");
    check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, new IntPointer(1).put(key.transB()), 4),
        "set TRANSB");
    if (key.bias()) {
      check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE,
          new IntPointer(1).put(CUBLASLT_EPILOGUE_BIAS), 4), "set EPILOGUE");
    }
    long aRows = key.transA() == CUBLAS_OP_N ? key.m() : key.k(), aCols = key.transA() == CUBLAS_OP_N ? key.k() : key.m();
    long bRows = key.transB() == CUBLAS_OP_N ? key.k() : key.n(), bCols = key.transB() == CUBLAS_OP_N ? key.n() : key.k();
    p.a = layout(CUDA_R_16BF, aRows, aCols, key.lda());
    p.b = layout(CUDA_R_16BF, bRows, bCols, key.ldb());
    p.c = layout(key.outType(), key.m(), key.n(), key.ldd());
    PointerPointer<Pointer> prefp = new PointerPointer<>(1);
    check(cublasLtMatmulPreferenceCreate(prefp), "cublasLtMatmulPreferenceCreate");
    cublasLtMatmulPreferenceOpaque_t pref = new cublasLtMatmulPreferenceOpaque_t(prefp.get(0));
    check(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
        new LongPointer(1).put(workspaceBytes), 8), "set MAX_WORKSPACE_BYTES");
    p.heuristic = new cublasLtMatmulHeuristicResult_t();
    int[] found = new int[1];
    check(cublasLtMatmulAlgoGetHeuristic(handle, p.desc, p.a, p.b, p.c, p.c, pref, 1, p.heuristic, found),
        "cublasLtMatmulAlgoGetHeuristic");
    cublasLtMatmulPreferenceDestroy(pref);
    if (found[0] == 0) throw new IllegalStateException("cuBLASLt has no algorithm for " + key);
    plans.put(key, p);
    return p;
  }

  /**
   * Column-major D[m, n] = op(A)·op(B) (+ D when accumulate) (+ bias[m] when bias != 0).
   * A, B bf16; D bf16 ({@code outF32 = false}) or fp32.
   */
  void matmul(boolean transA, boolean transB, long m, long n, long k, long a, long lda, long b, long ldb,
      long d, long ldd, boolean outF32, long bias, boolean accumulate) {
    matmul(transA, transB, m, n, k, 1f, a, lda, b, ldb, d, ldd, outF32, bias, accumulate);
  }

  /**
   * Column-major D[m, n] = alpha·op(A)·op(B) (+ D when accumulate, i.e. beta = 1, in place) (+ bias[m]).
   * alpha is a host scalar (the default pointer mode): cuBLASLt reads it when the call is enqueued, so the one
   * buffer is reused by every call. The plan does not depend on alpha.
   */
  void matmul(boolean transA, boolean transB, long m, long n, long k, float alpha, long a, long lda, long b, long ldb,
      long d, long ldd, boolean outF32, long bias, boolean accumulate) {
    Key key = new Key(transA ? CUBLAS_OP_T : CUBLAS_OP_N, transB ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k, lda, ldb, ldd,
        outF32 ? CUDA_R_32F : CUDA_R_16BF, bias != 0, accumulate);
    Plan p = plan(key);
    if (bias != 0) {
      biasAddress.put(0, bias);
      check(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, biasAddress, 8), "set BIAS_POINTER");
    }
    Raw dp = new Raw(d);
    FloatPointer alphaPtr = one;
    if (alpha != 1f) {
      alphaBuf.put(0, alpha);
      alphaPtr = alphaBuf;
    }
    check(cublasLtMatmul(handle, p.desc, alphaPtr, new Raw(a), p.a, new Raw(b), p.b, accumulate ? one : zero, dp, p.c, dp,
        p.c, p.heuristic.algo(), new Raw(workspace), workspaceBytes, stream), "cublasLtMatmul");
  }

  @Override
  public void close() {
    for (Plan p : plans.values()) {
      cublasLtMatrixLayoutDestroy(p.a);
      cublasLtMatrixLayoutDestroy(p.b);
      cublasLtMatrixLayoutDestroy(p.c);
      cublasLtMatmulDescDestroy(p.desc);
    }
    plans.clear();
    cublasLtDestroy(handle);
  }
}
