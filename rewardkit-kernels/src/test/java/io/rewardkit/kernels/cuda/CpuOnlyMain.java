package io.rewardkit.kernels.cuda;

import io.rewardkit.kernels.Backends;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.CudaSupport;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;

/** Child-JVM entry point for {@link CudaProbeTest#cpuPathNeverLoadsCudaClasses}. */
public final class CpuOnlyMain {
  private CpuOnlyMain() {}

  public static void main(String[] args) {
    try (CpuBackend cpu = new CpuBackend()) {
      Tensor x = Tensor.hostOf(new float[] {1, 2, 3, 4}, 2, 2);
      Tensor w = Tensor.hostOf(new float[] {1, 1}, 2);
      cpu.rmsnormForward(cpu.allocate(DType.F32, 2, 2), cpu.allocate(DType.F32, 2), x, w, 1e-6);
    }
    System.out.println("PROBING");
    System.out.flush();
    System.out.println(CudaSupport.probe());
    if (!CudaSupport.probe().available()) Backends.describe();
    System.out.println("CPU-ONLY-OK");
  }
}
