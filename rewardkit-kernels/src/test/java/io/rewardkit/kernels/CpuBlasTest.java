package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class CpuBlasTest {
  @Test
  void reportsTheThreadCountOpenBlasUses() {
    int threads = CpuBlas.threads();
    assertTrue(threads >= 1, "threads " + threads);
    String env = System.getenv("OPENBLAS_NUM_THREADS");  // surefire sets 1
    if (env != null && !env.isBlank()) assertEquals(Integer.parseInt(env.trim()), threads);
    String version = CpuBlas.version();
    assertTrue(version.matches("\\d+\\.\\d+\\.\\d+.* \\(.*" + threads + " threads?\\)"), version);
  }
}
