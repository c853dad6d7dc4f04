package io.rewardkit.kernels;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Chooses the backend once at start-up ({@code --device cpu|cuda|auto}). */
public final class Backends {
  private Backends() {}

  /**
   * Returns the backend for a {@code --device} value. {@code auto} picks CUDA when a usable GPU
   * and the CUDA libraries are present, else CPU; {@code cuda} fails with the reason when not.
   */
  public static Backend select(String device) {
    String d = device == null ? "auto" : device.toLowerCase(Locale.ROOT);
    return switch (d) {
      case "cpu" -> new CpuBackend();
      case "cuda", "gpu" -> CudaSupport.open();
      case "auto" -> CudaSupport.probe().available() ? CudaSupport.open() : new CpuBackend();
      default -> throw new IllegalArgumentException("--device must be cpu, cuda or auto, got '" + device + "'");
    };
  }

  /** Lines for {@code rewardkit info}. */
  public static List<String> describe() {
    List<String> lines = new ArrayList<>();
    lines.add("cpu:  available, " + Runtime.getRuntime().availableProcessors() + " threads, GEMM via OpenBLAS "
        + CpuBlas.version());
    CudaSupport.Probe probe = CudaSupport.probe();
    lines.add(probe.available() ? "cuda: " + probe.detail() : "cuda: no CUDA device (" + probe.detail() + ")");
    return lines;
  }
}
