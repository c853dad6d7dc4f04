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

  @Test
  void notesAnEnvironmentThatHoldsOpenBlasBelowTheCpu() {
    String note = CpuBlas.coreTypeNotice("Haswell", "Haswell", true);
    assertNotNull(note);
    assertTrue(note.startsWith("note: OPENBLAS_CORETYPE=Haswell") && !note.contains("\n"), note);
    assertNull(CpuBlas.coreTypeNotice(null, "Cooperlake", true), "OpenBLAS's own choice: nothing to say");
    assertNull(CpuBlas.coreTypeNotice("SkylakeX", "SkylakeX", true), "an AVX-512 kernel set was asked for");
    assertNull(CpuBlas.coreTypeNotice("Haswell", "Haswell", false), "the CPU has no AVX-512");
  }
}
