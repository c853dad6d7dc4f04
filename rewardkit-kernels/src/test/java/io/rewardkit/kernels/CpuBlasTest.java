package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class CpuBlasTest {
  @Test
  void reportsTheThreadCountOpenBlasUses() {
    int threads = CpuBlas.threads();
    assertEquals(1, threads, "OpenBLAS runs single-threaded inside our OpenMP stripes");
    String version = CpuBlas.version();
    assertTrue(version.matches("\\d+\\.\\d+\\.\\d+.* \\(.*1 thread per GEMM stripe, \\d+ OpenMP threads\\)"), version);
  }
}
