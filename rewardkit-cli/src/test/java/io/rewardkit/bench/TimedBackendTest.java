package io.rewardkit.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TimedBackendTest {

  @Test
  void methodNamesMapToFamilyAndDirection() {
    assertEquals("linear.fwd", TimedBackend.keyOf("linearForward"));
    assertEquals("attention.bwd", TimedBackend.keyOf("attentionBackward"));
    assertEquals("add.fwd", TimedBackend.keyOf("addInPlace"));
    assertEquals("optimizer.adamw", TimedBackend.keyOf("adamwUpdate"));
    assertEquals("memory.upload", TimedBackend.keyOf("upload"));
    assertEquals("someNewOp.call", TimedBackend.keyOf("someNewOp"));
    assertNull(TimedBackend.keyOf("synchronize"));
    assertNull(TimedBackend.keyOf("name"));
  }

  @Test
  void opsAreTimedForwardedAndTheirErrorsPassThrough() {
    OpClock.Host clock = new OpClock.Host();
    MemoryProbe.Host memory = new MemoryProbe.Host();
    try (CpuBackend cpu = new CpuBackend()) {
      Backend b = TimedBackend.wrap(cpu, clock, memory);
      assertEquals(cpu.name(), b.name());
      Tensor x = b.allocate(DType.F32, 4, 8);
      b.upload(x, new float[32]);
      for (int i = 0; i < 32; i++) x.setDouble(i, i % 5 - 2);
      Tensor w = Tensor.hostOf(new float[] {1, 1, 1, 1, 1, 1, 1, 1}, 8);
      Tensor out = b.allocate(DType.F32, 4, 8), rstd = b.allocate(DType.F32, 4);
      b.rmsnormForward(out, rstd, x, w, 1e-6);
      b.rmsnormForward(out, rstd, x, w, 1e-6);
      // The result is the backend's: compare with a direct call.
      Tensor ref = Tensor.host(DType.F32, 4, 8), refRstd = Tensor.host(DType.F32, 4);
      cpu.rmsnormForward(ref, refRstd, x, w, 1e-6);
      assertArrayEquals(ref.toFloatArray(), out.toFloatArray());
      // A bad call surfaces the backend's own exception, not a reflection wrapper.
      Tensor bad = b.allocate(DType.F32, 3);
      assertThrows(IllegalArgumentException.class, () -> b.rmsnormForward(out, bad, x, w, 1e-6));

      OpTimes times = new OpTimes();
      clock.flush(times);
      Map<String, long[]> m = times.asMap();
      assertEquals(2, m.get("rmsnorm.fwd")[1]);
      assertEquals(4, m.get("memory.allocate")[1]);
      assertEquals(1, m.get("memory.upload")[1]);
      assertTrue(times.byFamily().containsKey("rmsnorm"));
      assertTrue(memory.peakBytes() >= 4 * 8 * 4 * 2, "tensors allocated through the proxy are counted");
    }
  }
}
