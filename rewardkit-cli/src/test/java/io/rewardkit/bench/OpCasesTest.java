package io.rewardkit.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.kernels.CpuBackend;
import org.junit.jupiter.api.Test;

class OpCasesTest {
  private static final ModelShape TINY = new ModelShape("tiny", "qwen2", 64, 1, 4, 2, 96, 300, true, 10000.0, 1e-6, 4096, false);

  @Test
  void everyOpRunsOnTheCpuBackendAtAnAwkwardShape() {
    try (CpuBackend cpu = new CpuBackend()) {
      for (String op : OpCases.NAMES) {
        OpCases.Case c = OpCases.create(op, cpu, TINY, 77, 30, 5);   // 77 tokens: sequences 30, 30, 17
        c.run();
        c.run();
      }
    }
  }

  @Test
  void costsFollowTheShapes() {
    ModelShape m = ModelShape.QWEN25_05B;
    OpCases.Cost qkv = OpCases.cost("linear_qkv.fwd", m, 2048, 512, 4);
    assertEquals(2.0 * 2048 * (14 + 4) * 64 * 896, qkv.flops());
    assertTrue(qkv.computeBound());
    assertEquals(2 * qkv.flops(), OpCases.cost("linear_qkv.bwd", m, 2048, 512, 4).flops());
    OpCases.Cost down = OpCases.cost("linear_down.fwd", m, 100, 512, 4);
    assertEquals(2.0 * 100 * 896 * 4864, down.flops());
    OpCases.Cost sw = OpCases.cost("swiglu.fwd", m, 10, 512, 2);
    assertEquals(3.0 * 10 * 4864 * 2, sw.bytes());
    // Attention: 4 sequences of 512, causal: 4 * 512*513/2 visible pairs, 4*hd*Hq FLOPs each forward.
    assertEquals(4.0 * 64 * 14 * 4 * (512 * 513 / 2), OpCases.cost("attention.fwd", m, 2048, 512, 4).flops());
    assertThrows(IllegalArgumentException.class, () -> OpCases.cost("conv.fwd", m, 1, 1, 4));
  }

  @Test
  void sequencesCoverTheTokens() {
    assertArrayEquals(new int[] {30, 30, 17}, OpCases.seqLens(77, 30));
    assertArrayEquals(new int[] {5}, OpCases.seqLens(5, 512));
    assertArrayEquals(new int[] {14, 29, 37, 46}, OpCases.readoutIndices(47, 30));
  }
}
