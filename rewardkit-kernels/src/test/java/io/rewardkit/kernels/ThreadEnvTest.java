package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.kernels.cpu.CpuThreads;
import org.junit.jupiter.api.Test;

/**
 * One thread pool: loading the CPU kernels sets OpenBLAS to one thread and libgomp's idle workers to sleep
 * (librewardkit_env, preloaded before libgomp), whatever the launching environment says about OpenBLAS.
 */
class ThreadEnvTest {
  @Test
  void openBlasRunsOnOneThreadAndIdleWorkersSleep() {
    CpuBlas.load();
    assertEquals("1", CpuThreads.env_value("OPENBLAS_NUM_THREADS"));
    assertEquals(1, CpuBlas.threads(), "OpenBLAS's own thread count");
    if (System.getenv("OMP_WAIT_POLICY") == null && System.getenv("GOMP_SPINCOUNT") == null) {
      assertEquals("PASSIVE", CpuThreads.env_value("OMP_WAIT_POLICY"));
      // What libgomp actually read: after a parallel region, while this thread computes for 50 ms, the other
      // worker burns (almost) no CPU. Spinning workers burn milliseconds (libgomp's default spin count);
      // a sleeping one only its wake-up and exit of the region.
      long best = Long.MAX_VALUE;
      for (int i = 0; i < 3; i++) best = Math.min(best, CpuThreads.idle_worker_cpu_ns(50));
      if (best >= 0) assertTrue(best < 300_000, "idle worker burnt " + best / 1000 + " µs of CPU in 50 ms");
    }
  }
}
