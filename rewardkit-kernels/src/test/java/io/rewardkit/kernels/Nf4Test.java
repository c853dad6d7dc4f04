package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * NF4 with double quantisation (bitsandbytes' format): the error bounds the format guarantees, the
 * dequant-GEMM forward and input gradient against float64, bad input. Bit-exactness against the
 * bitsandbytes-algorithm golden: Nf4GoldenTest (rewardkit-core, which reads safetensors).
 */
class Nf4Test {
  private final Backend cpu = new CpuBackend();

  @Test
  void roundTripErrorStaysWithinTheFormatsBounds() {
    SplittableRandom rng = new SplittableRandom(7);
    int rows = 97, cols = 321;  // 487 blocks, the last partial: two absmax2 blocks, odd n
    float[] w = new float[rows * cols];
    for (int i = 0; i < w.length; i++) w[i] = (float) (rng.nextGaussian() * 0.02 * (1 + (i / 64) % 5));
    double rel = Nf4Bounds.check(cpu, w, new long[] {rows, cols});
    // NF4 keeps a Gaussian weight to about a tenth of its scale (QLoRA's premise); a broken code table does not.
    assertTrue(rel < 0.12, "relative RMS error " + rel);
  }

  @Test
  void dequantGemmForwardAndInputBackwardMatchFloat64() {
    SplittableRandom rng = new SplittableRandom(11);
    int o = 33, in = 130;
    Tensor w = GradCheck.random(rng, 0.3, o, in);
    try (Nf4Weight q = Nf4Weight.quantize(cpu, w)) {
      Tensor deq = Tensor.host(DType.F32, o, in);
      cpu.nf4Dequantize(deq, q);
      Nf4Bounds.checkGemm(cpu, q, deq.toFloatArray(), rng);
    }
  }

  /** In float64 the input gradient is the derivative of Σ dOut·y: central differences agree. */
  @Test
  void inputGradientMatchesFiniteDifferences() {
    SplittableRandom rng = new SplittableRandom(3);
    int tokens = 3, in = 70, o = 9;
    Tensor w = GradCheck.random(rng, 0.5, o, in);
    try (Nf4Weight q = Nf4Weight.quantize(cpu, w)) {
      Tensor x = GradCheck.random(rng, 1.0, tokens, in), g = GradCheck.random(rng, 1.0, tokens, o);
      Tensor y = Tensor.host(DType.F64, tokens, o), dx = Tensor.host(DType.F64, tokens, in), scratch = Tensor.host(DType.F64, o, in);
      Nf4Linear.backward(cpu, dx, g, x, q, scratch);
      GradCheck.check("nf4 linear dx", x, dx, () -> { Nf4Linear.forward(cpu, y, x, q, null, scratch); return GradCheck.dot(g, y); }, 100, 1);
    }
  }

  @Test
  void nonFiniteWeightsAndMismatchedPartsAreRefused() {
    float[] w = new float[130];
    w[77] = Float.NaN;
    try (Tensor t = Tensor.hostOf(w, 2, 65)) {
      RuntimeException e = assertThrows(RuntimeException.class, () -> Nf4Weight.quantize(cpu, t));
      assertTrue(e.getMessage().contains("element 77 is not finite"), e.getMessage());
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Nf4Weight.fromParts(cpu, new long[] {2, 65}, new byte[65], new byte[2], new float[1], 0f));
    assertTrue(e.getMessage().contains("do not fit shape [2, 65]"), e.getMessage());
  }

  @Test
  void storageIsAboutFourBitsPerElement() {
    // 200 elements: 100 bytes of codes, 4 absmax codes, one fp32 absmax2 and the fp32 offset
    assertEquals(100 + 4 + 4 + 4, Nf4Weight.storageBytes(200));
    assertEquals(4.127, 8.0 * Nf4Weight.storageBytes(64L * 256 * 1000) / (64L * 256 * 1000), 1e-3);
  }
}
