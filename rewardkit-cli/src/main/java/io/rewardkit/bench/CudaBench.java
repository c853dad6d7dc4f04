package io.rewardkit.bench;

import static org.bytedeco.cuda.global.cublas.*;
import static org.bytedeco.cuda.global.cudart.*;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.bytedeco.cuda.cublas.cublasLtContext;
import org.bytedeco.cuda.cublas.cublasLtMatmulDescOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulHeuristicResult_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulPreferenceOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatrixLayoutOpaque_t;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudart.cudaDeviceProp;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * Everything the benchmarks do with CUDA directly: device events, device memory, the cuBLASLt and copy
 * ceilings. Uses the Bytedeco CUDA presets, which cannot even load without a driver, so this class is
 * only ever touched after {@code CudaSupport.probe()} found a GPU (callers see only the interfaces).
 *
 * <p>Op events are recorded on the backend's own stream (read from its {@code stream} field: the CUDA
 * backend creates a non-blocking stream, which the legacy default stream would not order against), so an
 * event pair brackets exactly the ops launched between them. A stream handle is valid in both CUDA runtimes
 * of the process (ours, static in librewardkit_cuda, and the presets' dynamic one) because both use the
 * device's primary context. Ceilings run alone on the legacy default stream.
 *
 * <p>Never run here (no GPU in the development sessions): written against the preset's signatures,
 * compiled, but unverified until a GPU session runs it.
 */
public final class CudaBench {
  private CudaBench() {}

  static void check(int status, String what) {
    if (status != 0) throw new IllegalStateException(what + " failed: CUDA error " + status + " (" + cudaGetErrorString(status).getString() + ")");
  }

  static void checkBlas(int status, String what) {
    if (status != 0) throw new IllegalStateException(what + " failed: cuBLAS status " + status);
  }

  public static String deviceName() {
    cudaDeviceProp prop = new cudaDeviceProp();
    IntPointer dev = new IntPointer(1);
    check(cudaGetDevice(dev), "cudaGetDevice");
    check(cudaGetDeviceProperties(prop, dev.get()), "cudaGetDeviceProperties");
    return prop.name().getString();
  }

  /**
   * An {@link OpClock} on device events recorded on {@code backend}'s stream: begin/end record events;
   * flush waits and sums elapsed times. Fails when the backend's stream cannot be found.
   */
  public static OpClock eventClock(Object backend) {
    return new EventClock(streamOf(backend));
  }

  /** An event clock on the legacy default stream, for work issued on it (the ceilings). */
  public static OpClock legacyStreamClock() {
    return new EventClock(null);
  }

  /** The CUstream of a backend that keeps its stream handle in a {@code long stream} field. */
  static CUstream_st streamOf(Object backend) {
    long handle;
    try {
      java.lang.reflect.Field f = backend.getClass().getDeclaredField("stream");
      f.setAccessible(true);
      handle = f.getLong(backend);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IllegalStateException("cannot find the CUDA stream of " + backend.getClass().getName()
          + " (expected a long field 'stream'): " + e);
    }
    return new CUstream_st(new Pointer() {
      { address = handle; }
    });
  }

  private static final class EventClock implements OpClock {
    private final Deque<CUevent_st> free = new ArrayDeque<>();
    private final List<Object[]> pending = new ArrayList<>();   // {startEvent, endEvent, key}
    private final CUstream_st stream;
    private CUevent_st open;

    EventClock(CUstream_st stream) {
      this.stream = stream;
    }

    private CUevent_st event() {
      CUevent_st e = free.poll();
      if (e != null) return e;
      e = new CUevent_st();
      check(cudaEventCreate(e), "cudaEventCreate");
      return e;
    }

    @Override public void begin() {
      open = event();
      check(cudaEventRecord(open, stream), "cudaEventRecord");
    }

    @Override public void end(String key) {
      CUevent_st stop = event();
      check(cudaEventRecord(stop, stream), "cudaEventRecord");
      pending.add(new Object[] {open, stop, key});
      open = null;
    }

    @Override public void flush(OpTimes sink) {
      float[] ms = new float[1];
      for (Object[] p : pending) {
        CUevent_st a = (CUevent_st) p[0], b = (CUevent_st) p[1];
        check(cudaEventSynchronize(b), "cudaEventSynchronize");
        check(cudaEventElapsedTime(ms, a, b), "cudaEventElapsedTime");
        sink.add((String) p[2], Math.round(ms[0] * 1e6), 1);
        free.push(a);
        free.push(b);
      }
      pending.clear();
    }

    @Override public void close() {
      for (CUevent_st e : free) cudaEventDestroy(e);
      free.clear();
    }
  }

  /** Device memory in use (cudaMemGetInfo: total − free) above the level at {@link MemoryProbe#reset()}. */
  public static MemoryProbe memoryProbe() {
    return new MemoryProbe() {
      private long baseline, peak;
      private final SizeTPointer free = new SizeTPointer(1), total = new SizeTPointer(1);

      { reset(); }

      private long used() {
        check(cudaMemGetInfo(free, total), "cudaMemGetInfo");
        return total.get() - free.get();
      }

      @Override public void sample() { peak = Math.max(peak, used() - baseline); }
      @Override public long peakBytes() { sample(); return peak; }
      @Override public void reset() { baseline = used(); peak = 0; }
      @Override public String describe() { return "device memory in use (cudaMemGetInfo) above the level after backend start, peak"; }
    };
  }

  /**
   * Ceilings on the current GPU: cuBLASLt bf16 GEMM (fp32 accumulate) at n³ and a device-to-device copy
   * of {@code copyBytes}, each the best of {@code reps} timed with events.
   */
  public static Ceilings measure(int n, int reps, long copyBytes, double peakOverride) {
    String name = deviceName();
    double gemm = ltBf16GemmFlops(n, reps);
    double copy = copyBytesPerSecond(copyBytes, reps);
    double peak = peakOverride > 0 ? peakOverride : DevicePeaks.bf16DenseFlops(name);
    String src = peakOverride > 0 ? "--peak-tflops" : Double.isNaN(peak) ? "unknown part: pass --peak-tflops" : "datasheet bf16 dense";
    return new Ceilings("cuda " + name, gemm, n, copy, copyBytes, peak, src);
  }

  private static double elapsedBest(Runnable r, int reps) {
    CUevent_st a = new CUevent_st(), b = new CUevent_st();
    check(cudaEventCreate(a), "cudaEventCreate");
    check(cudaEventCreate(b), "cudaEventCreate");
    float[] ms = new float[1];
    double best = Double.MAX_VALUE;
    try {
      r.run();   // warm-up
      check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
      for (int i = 0; i < reps; i++) {
        check(cudaEventRecord(a, null), "cudaEventRecord");
        r.run();
        check(cudaEventRecord(b, null), "cudaEventRecord");
        check(cudaEventSynchronize(b), "cudaEventSynchronize");
        check(cudaEventElapsedTime(ms, a, b), "cudaEventElapsedTime");
        best = Math.min(best, ms[0] * 1e-3);
      }
    } finally {
      cudaEventDestroy(a);
      cudaEventDestroy(b);
    }
    return best;
  }

  /** A prepared device call that owns its buffers. */
  public interface DeviceCall extends AutoCloseable {
    void run();

    @Override
    void close();
  }

  /** FLOP/s of an n³ bf16 GEMM through cuBLASLt (best of {@code reps}). */
  public static double ltBf16GemmFlops(int n, int reps) {
    try (DeviceCall g = ltBf16Gemm(n)) {
      return 2.0 * n * (double) n * n / elapsedBest(g::run, reps);
    }
  }

  /**
   * C = Aᵀ·B, n×n bf16 in and out, fp32 accumulate, through cuBLASLt with the heuristic's first
   * algorithm and a 32 MiB workspace: the GEMM a bf16 linear layer runs.
   */
  public static DeviceCall ltBf16Gemm(int n) {
    long elems = (long) n * n;
    Pointer a = new Pointer(), b = new Pointer(), c = new Pointer(), ws = new Pointer();
    long wsBytes = 32L << 20;
    check(cudaMalloc(a, elems * 2), "cudaMalloc");
    check(cudaMalloc(b, elems * 2), "cudaMalloc");
    check(cudaMalloc(c, elems * 2), "cudaMalloc");
    check(cudaMalloc(ws, wsBytes), "cudaMalloc");
    check(cudaMemset(a, 0x3c, elems * 2), "cudaMemset");   // 0x3c3c as bf16 ~ 0.0115: finite, no denormals
    check(cudaMemset(b, 0x3c, elems * 2), "cudaMemset");
    cublasLtContext lt = new cublasLtContext();
    checkBlas(cublasLtCreate(lt), "cublasLtCreate");
    PointerPointer<Pointer> dp = new PointerPointer<>(1);
    checkBlas(cublasLtMatmulDescCreate(dp, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
    cublasLtMatmulDescOpaque_t desc = new cublasLtMatmulDescOpaque_t(dp.get(0));
    IntPointer transT = new IntPointer(1).put(0, CUBLAS_OP_T);
    checkBlas(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, transT, 4), "set TRANSA");
    cublasLtMatrixLayoutOpaque_t la = layout(n), lb = layout(n), lc = layout(n);
    PointerPointer<Pointer> pp = new PointerPointer<>(1);
    checkBlas(cublasLtMatmulPreferenceCreate(pp), "cublasLtMatmulPreferenceCreate");
    cublasLtMatmulPreferenceOpaque_t pref = new cublasLtMatmulPreferenceOpaque_t(pp.get(0));
    LongPointer wsSize = new LongPointer(1).put(0, wsBytes);
    checkBlas(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, wsSize, 8), "set workspace");
    cublasLtMatmulHeuristicResult_t heur = new cublasLtMatmulHeuristicResult_t();
    int[] found = new int[1];
    checkBlas(cublasLtMatmulAlgoGetHeuristic(lt, desc, la, lb, lc, lc, pref, 1, heur, found), "cublasLtMatmulAlgoGetHeuristic");
    if (found[0] == 0) throw new IllegalStateException("cuBLASLt found no bf16 algorithm for " + n + "^3");
    FloatPointer alpha = new FloatPointer(1f), beta = new FloatPointer(0f);
    return new DeviceCall() {
      @Override public void run() {
        checkBlas(cublasLtMatmul(lt, desc, alpha, a, la, b, lb, beta, c, lc, c, lc, heur.algo(), ws, wsBytes, null), "cublasLtMatmul");
      }

      @Override public void close() {
        cublasLtMatmulPreferenceDestroy(pref);
        cublasLtMatrixLayoutDestroy(la);
        cublasLtMatrixLayoutDestroy(lb);
        cublasLtMatrixLayoutDestroy(lc);
        cublasLtMatmulDescDestroy(desc);
        cublasLtDestroy(lt);
        cudaFree(a);
        cudaFree(b);
        cudaFree(c);
        cudaFree(ws);
      }
    };
  }

  private static cublasLtMatrixLayoutOpaque_t layout(int n) {
    PointerPointer<Pointer> pp = new PointerPointer<>(1);
    checkBlas(cublasLtMatrixLayoutCreate(pp, CUDA_R_16BF, n, n, n), "cublasLtMatrixLayoutCreate");
    return new cublasLtMatrixLayoutOpaque_t(pp.get(0));
  }

  /** Bytes/s (read + write) of cudaMemcpy device-to-device (best of {@code reps}). */
  public static double copyBytesPerSecond(long bytes, int reps) {
    try (DeviceCall c = deviceCopy(bytes)) {
      return 2.0 * bytes / elapsedBest(c::run, reps);
    }
  }

  /** A device-to-device copy of {@code bytes}. */
  public static DeviceCall deviceCopy(long bytes) {
    Pointer src = new Pointer(), dst = new Pointer();
    check(cudaMalloc(src, bytes), "cudaMalloc");
    check(cudaMalloc(dst, bytes), "cudaMalloc");
    check(cudaMemset(src, 1, bytes), "cudaMemset");
    return new DeviceCall() {
      @Override public void run() { check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, null), "cudaMemcpyAsync"); }

      @Override public void close() {
        cudaFree(src);
        cudaFree(dst);
      }
    };
  }
}
