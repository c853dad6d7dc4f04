package io.rewardkit.bench;

import io.rewardkit.kernels.CpuBlas;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * The machine's measured ceilings, taken in the same run as the figures they normalise:
 * dense GEMM throughput (FLOP/s) and memory copy bandwidth (bytes/s, counting read + write).
 *
 * @param device     what was measured (e.g. {@code cpu (OpenBLAS sgemm, 2 threads)})
 * @param gemmFlops  FLOP/s of the best GEMM available (OpenBLAS sgemm on CPU, cuBLASLt bf16 on GPU)
 * @param gemmShape  the M=N=K used
 * @param copyBytes  bytes/s moved by a large copy (read + write), memcpy on CPU, device-to-device on GPU
 * @param copySize   bytes per copy
 * @param peakFlops  the dense peak MFU is quoted against: on GPU the datasheet bf16 peak, on CPU the measured sgemm
 * @param peakSource where {@code peakFlops} comes from
 */
public record Ceilings(String device, double gemmFlops, int gemmShape, double copyBytes, long copySize,
    double peakFlops, String peakSource) {

  /**
   * The higher of two measurements (taken before and after the timed steps) for each ceiling. On a shared
   * machine the load changes during a run; the higher ceiling is the conservative denominator.
   */
  public Ceilings max(Ceilings other) {
    boolean gemmFromOther = other.gemmFlops > gemmFlops;
    double peak = peakSource.startsWith("measured") ? Math.max(gemmFlops, other.gemmFlops) : peakFlops;
    return new Ceilings(device, Math.max(gemmFlops, other.gemmFlops), gemmShape, Math.max(copyBytes, other.copyBytes), copySize,
        peak, peakSource.startsWith("measured") ? peakSource + (gemmFromOther ? ", best of before/after (after)" : ", best of before/after (before)")
            : peakSource);
  }

  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("device", device);
    m.put("gemm_tflops", gemmFlops / 1e12);
    m.put("gemm_mnk", gemmShape);
    m.put("copy_gb_per_s", copyBytes / 1e9);
    m.put("copy_bytes", copySize);
    m.put("peak_tflops", peakFlops / 1e12);
    m.put("peak_source", peakSource);
    return m;
  }

  /** Measures the CPU: OpenBLAS sgemm at n³ (best of {@code reps}) and memcpy of {@code copyBytes} bytes. */
  public static Ceilings measureCpu(int n, int reps, long copyBytes) {
    double gemm = cpuSgemmFlops(n, reps);
    double copy = cpuCopyBytesPerSecond(copyBytes, reps);
    String dev = "cpu (" + Runtime.getRuntime().availableProcessors() + " cores, OpenBLAS sgemm " + CpuBlas.version() + ")";
    return new Ceilings(dev, gemm, n, copy, copyBytes, gemm, "measured OpenBLAS sgemm " + n + "^3");
  }

  /** Best FLOP/s of C = A·B (n×n, FP32) over {@code reps} calls, after one warm-up call. */
  public static double cpuSgemmFlops(int n, int reps) {
    CpuBlas.load();
    long nn = (long) n * n;
    try (FloatPointer a = new FloatPointer(nn); FloatPointer b = new FloatPointer(nn); FloatPointer c = new FloatPointer(nn)) {
      for (long i = 0; i < nn; i++) {
        a.put(i, (float) ((i * 7 % 13) - 6) / 13f);
        b.put(i, (float) ((i * 5 % 11) - 5) / 11f);
      }
      double best = Double.MAX_VALUE;
      for (int r = 0; r <= reps; r++) {
        long t0 = System.nanoTime();
        io.rewardkit.kernels.CpuBlas.sgemm(false, false, false, n, n, n, 1f, a, n, b, n, 0f, c, n);  // the striped GEMM training runs
        long dt = System.nanoTime() - t0;
        if (r > 0) best = Math.min(best, dt);
      }
      return 2.0 * n * nn / (best * 1e-9);
    }
  }

  /** Best bytes/s (read + write) of a memcpy of {@code bytes} bytes. */
  public static double cpuCopyBytesPerSecond(long bytes, int reps) {
    try (BytePointer src = new BytePointer(bytes); BytePointer dst = new BytePointer(bytes)) {
      Pointer.memset(src, 1, bytes);
      Pointer.memset(dst, 0, bytes);
      double best = Double.MAX_VALUE;
      for (int r = 0; r <= reps; r++) {
        long t0 = System.nanoTime();
        Pointer.memcpy(dst, src, bytes);
        long dt = System.nanoTime() - t0;
        if (r > 0) best = Math.min(best, dt);
      }
      return 2.0 * bytes / (best * 1e-9);
    }
  }
}
