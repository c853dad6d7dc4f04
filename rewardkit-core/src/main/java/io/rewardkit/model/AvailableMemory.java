package io.rewardkit.model;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Device;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/** How much memory a run on a backend's device can still take (for the memory plan's fit check). */
public final class AvailableMemory {
  private AvailableMemory() {}

  /**
   * CPU: the kernel's MemAvailable (free + reclaimable page cache), else the OS's free memory. CUDA: the
   * device's free memory (cudaMemGetInfo) now, with this process's CUDA context already created.
   */
  public static MemoryPlan.Available of(Backend backend) {
    MemoryPlan.Available forced = forced();
    if (forced != null) return forced;
    if (backend.device() == Device.CUDA) {
      try {
        return new MemoryPlan.Available(cudaFree(), "free on the GPU");
      } catch (Throwable t) {  // Bytedeco's cudart failing to load is an Error: then the fit is not checked
        return new MemoryPlan.Available(0, "free GPU memory unknown: " + t.getMessage());
      }
    }
    return cpu();
  }

  public static MemoryPlan.Available cpu() {
    MemoryPlan.Available forced = forced();
    if (forced != null) return forced;
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemAvailable:")) {
          long kib = Long.parseLong(line.replaceAll("[^0-9]", ""));
          return new MemoryPlan.Available(kib * 1024, "available RAM");
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: fall through to the OS bean
    }
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return new MemoryPlan.Available(os.getFreeMemorySize(), "free RAM");
    }
    return new MemoryPlan.Available(0, "available RAM unknown");
  }

  /** System property that replaces the measurement (bytes): tests use it to see a too-small machine. */
  public static final String OVERRIDE_PROPERTY = "rewardkit.available_memory_bytes";

  private static MemoryPlan.Available forced() {
    String v = System.getProperty(OVERRIDE_PROPERTY);
    return v == null ? null : new MemoryPlan.Available(Long.parseLong(v.trim()), "available (-D" + OVERRIDE_PROPERTY + ")");
  }

  private static long cudaFree() {
    try (org.bytedeco.javacpp.SizeTPointer free = new org.bytedeco.javacpp.SizeTPointer(1);
         org.bytedeco.javacpp.SizeTPointer total = new org.bytedeco.javacpp.SizeTPointer(1)) {
      int status = org.bytedeco.cuda.global.cudart.cudaMemGetInfo(free, total);
      if (status != 0) throw new IllegalStateException("cudaMemGetInfo failed: CUDA error " + status);
      return free.get();
    }
  }
}
