package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.kernels.cpu.RmsNorm;
import org.bytedeco.javacpp.DoublePointer;
import org.junit.jupiter.api.Test;

class SmokeTest {
  @Test
  void rmsnormRuns() {
    DoublePointer x = new DoublePointer(1.0, 2.0, 3.0, 4.0);
    DoublePointer w = new DoublePointer(1.0, 1.0);
    DoublePointer out = new DoublePointer(4);
    DoublePointer rstd = new DoublePointer(2);
    RmsNorm.rmsnorm_forward(out, rstd, x, w, 2, 2, 0.0);
    assertEquals(1.0 / Math.sqrt(2.5), rstd.get(0), 1e-12);
    assertThrows(RuntimeException.class, () -> RmsNorm.rmsnorm_forward(out, rstd, x, w, 2, 0, 0.0));
  }
}
