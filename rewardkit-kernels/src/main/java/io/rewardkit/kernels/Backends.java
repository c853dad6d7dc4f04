package io.rewardkit.kernels;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Chooses the backend once at start-up ({@code --device cpu|cuda|auto}). */
public final class Backends {
  private Backends() {}

  /**
   * Returns the backend for a {@code --device} value. {@code auto} picks CUDA when a GPU is present
   * and everything the CUDA backend needs loads (kernels, driver, cuBLAS/cuBLASLt), else CPU, saying
   * why on stderr when a GPU was there; {@code cuda} fails with the reason when not.
   */
  public static Backend select(String device) {
    return select(device, false);
  }

  /**
   * The same; {@code bf16Matmuls} ({@code --bf16}) gives the CPU backend bf16 GEMMs in the linears where the CPU has
   * AVX512-BF16 (else a warning and fp32: {@link CpuBackend#CpuBackend(boolean)}). CUDA computes in bf16 anyway.
   */
  public static Backend select(String device, boolean bf16Matmuls) {
    String d = device == null ? "auto" : device.toLowerCase(Locale.ROOT);
    return switch (d) {
      case "cpu" -> new CpuBackend(bf16Matmuls);
      case "cuda", "gpu" -> CudaSupport.open();
      case "auto" -> auto(bf16Matmuls);
      default -> throw new IllegalArgumentException("--device must be cpu, cuda or auto, got '" + device + "'");
    };
  }

  private static Backend auto(boolean bf16Matmuls) {
    if (!CudaSupport.probe().available()) return new CpuBackend(bf16Matmuls);
    try {
      return CudaSupport.open();
    } catch (BackendUnavailableException e) {
      System.err.println("rewardkit: --device auto: a GPU is present but " + e.getMessage().replaceFirst("^--device cuda: ", "")
          + "; using the CPU");
      return new CpuBackend(bf16Matmuls);
    }
  }

  /** Lines for {@code rewardkit info}: CPU, GPU and driver, and every CUDA library with path and version. */
  public static List<String> describe() {
    List<String> lines = new ArrayList<>();
    lines.add("cpu:  available, " + Runtime.getRuntime().availableProcessors() + " threads, GEMM via OpenBLAS "
        + CpuBlas.version() + "; --bf16 GEMMs: " + (CpuBlas.bf16Supported() ? "yes (AVX512-BF16)" : "no (no AVX512-BF16: fp32)"));
    String note = CpuBlas.coreTypeNotice();
    if (note != null) lines.add("  " + note);
    CudaSupport.Probe probe = CudaSupport.probe();
    lines.add(probe.available() ? "cuda: " + probe.detail() : "cuda: no CUDA device (" + probe.detail() + ")");
    CudaLibraries.Report libs = CudaLibraries.preload();
    CudaLibraries.Driver drv = libs.driver();
    lines.add("  driver   libcuda.so.1       " + (drv.path() == null
        ? "NOT FOUND (the NVIDIA driver is not installed, or not on the system loader's path)"
        : drv.path() + "  (" + drv.version() + ")"));
    for (CudaLibraries.Found f : libs.libs()) {
      String what = f.path() == null ? "NOT FOUND"
          : f.path() + "  (" + f.version() + (f.loadError() == null ? ", loads" : ", DOES NOT LOAD: " + f.loadError()) + ")";
      lines.add(String.format("  library  %-18s %s", f.lib().soname, what));
    }
    if (libs.pipHint() != null) lines.add("  missing: " + libs.pipHint() + "   (or the CUDA 13 toolkit; then --cuda_lib_dir DIR if elsewhere)");
    lines.add("  searched " + libs.searched().size() + " folders: " + libs.searched().stream().map(Object::toString)
        .reduce((a, b) -> a + ":" + b).orElse("(none exist)"));
    String verdict;
    if (!probe.available()) verdict = "not usable here (no CUDA device); --device auto uses the CPU";
    else if (libs.problem() != null) verdict = "not usable: " + libs.problem();
    else {
      String gemm = CudaSupport.gemmLibraryProblem();
      verdict = gemm == null ? "ready (--device auto uses it)" : "not usable: " + gemm;
    }
    lines.add("  backend  " + verdict);
    return lines;
  }
}
