package io.rewardkit.kernels;

import io.rewardkit.kernels.cuda.CudaBackend;
import io.rewardkit.kernels.cuda.CudaRuntime;
import io.rewardkit.kernels.cuda.RewardKitCuda;
import org.bytedeco.javacpp.BytePointer;

/**
 * The one place that decides whether CUDA can be used. The probe loads only RewardKit's own
 * {@code jnirewardkit_cuda} (statically linked CUDA runtime: loads without a driver) and asks
 * {@code cudaGetDeviceCount}; it never touches Bytedeco's CUDA classes, which fail to load without
 * {@code libcuda.so.1} and then stay broken for the rest of the JVM. The CPU path never calls here
 * except through {@link Backends}.
 */
public final class CudaSupport {
  private CudaSupport() {}

  /** Result of looking for a usable GPU: available with the device line, or the reason why not. */
  public record Probe(boolean available, String detail) {}

  private static volatile Probe cached;

  /** Probes once per JVM (cheap afterwards). Never throws. */
  public static Probe probe() {
    Probe p = cached;
    if (p == null) {
      synchronized (CudaSupport.class) {
        if (cached == null) cached = doProbe();
        p = cached;
      }
    }
    return p;
  }

  private static Probe doProbe() {
    try {
      RewardKitCuda.load();
      try (BytePointer buf = new BytePointer(4096)) {
        int count = CudaRuntime.probe(buf, buf.capacity());
        String detail = buf.limit(BytePointer.strlen(buf)).getString().trim();  // NUL-terminated
        if (count > 0) return new Probe(true, detail);
        return new Probe(false, detail.isEmpty() ? "no CUDA device" : detail);
      }
    } catch (Throwable t) {
      return new Probe(false, "could not load the RewardKit CUDA library (jnirewardkit_cuda): " + t);
    }
  }

  /** Null when cuBLASLt loads (only after the probe found a device), else why not. */
  static String gemmLibraryProblem() {
    if (!probe().available()) return "no CUDA device";
    return CudaBackend.gemmLibraryProblem();
  }

  /** Opens the CUDA backend, or fails with what is missing. */
  public static Backend open() {
    Probe p = probe();
    if (!p.available()) {
      throw new BackendUnavailableException("--device cuda: no CUDA device (" + p.detail() + ")");
    }
    return new CudaBackend(0);
  }
}
