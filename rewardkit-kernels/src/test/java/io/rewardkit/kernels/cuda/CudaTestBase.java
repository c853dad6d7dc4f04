package io.rewardkit.kernels.cuda;

import io.rewardkit.kernels.CpuBackend;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * Fixture shared by the GPU tests: a fresh CUDA backend per test (the test is skipped without a
 * device), the CPU reference backend, and a random source. The GPU backend is closed after each test.
 */
abstract class CudaTestBase {
  protected CudaBackend gpu;
  protected CpuBackend cpu;
  protected Random rnd;

  @BeforeEach
  void openBackends() {
    gpu = CudaTestSupport.gpu();
    cpu = new CpuBackend();
    rnd = new Random(System.nanoTime());
  }

  @AfterEach
  void closeGpu() {
    if (gpu != null) gpu.close();
  }
}
