package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.model.safetensors.SafetensorsFile;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * NF4 with double quantisation against the golden of tools/nf4_golden.py (a reimplementation of
 * bitsandbytes' quantize_4bit / dequantize_4bit; bitsandbytes itself is not installable here), the error
 * bounds the format guarantees, and the dequant-GEMM forward/backward against float64 references.
 */
class Nf4Test {
  private final Backend cpu = new CpuBackend();

  /** NF4's widest gap is between -1 and -0.6961928: half of it bounds |w/absmax - code|. */
  private static final double NF4_HALF_GAP = (1.0 - 0.6961928009986877) / 2;
  /** The dynamic map's widest gap near ±1 is 0.9/64 (its top decade's linspace step): half bounds the absmax error. */
  private static final double MAP_HALF_GAP = 0.9 / 64 / 2;

  private static final class Golden {
    final long[] shape;
    final float[] w;
    final byte[] packed;
    final byte[] qabsmax;
    final float[] absmax2;
    final float offset;
    final float[] absmax;
    final float[] dequant;

    Golden() throws IOException, URISyntaxException {
      Path p = Path.of(Nf4Test.class.getResource("/nf4/golden.safetensors").toURI());
      try (SafetensorsFile f = SafetensorsFile.open(p); FileChannel ch = FileChannel.open(p)) {
        shape = f.entry("w").shape();
        w = f.readFloats("w");
        packed = raw(ch, f.entry("packed"));
        qabsmax = raw(ch, f.entry("qabsmax"));
        absmax2 = f.readFloats("absmax2");
        offset = f.readFloats("offset")[0];
        absmax = f.readFloats("absmax");
        dequant = f.readFloats("dequant");
      }
    }

    private static byte[] raw(FileChannel ch, SafetensorsFile.Entry e) throws IOException {
      ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(e.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
      ch.read(b, e.fileBegin());
      return b.array();
    }
  }

  @Test
  void quantizeMatchesTheBitsandbytesGoldenBitForBit() throws Exception {
    Golden g = new Golden();
    try (Tensor w = Tensor.hostOf(g.w, g.shape); Nf4Weight q = Nf4Weight.quantize(cpu, w)) {
      assertArrayEquals(g.packed, q.packedCodes(cpu), "4-bit codes");
      assertArrayEquals(g.qabsmax, q.absmaxCodes(cpu), "8-bit absmax codes");
      assertArrayEquals(g.absmax2, q.absmax2(cpu), "second-level scales");
      assertEquals(g.offset, q.offset(), "offset (mean absmax)");
      Tensor out = Tensor.host(DType.F32, g.shape);
      cpu.nf4Dequantize(out, q);
      assertArrayEquals(g.dequant, out.toFloatArray(), "dequantised weight");
    }
  }

  @Test
  void dequantizeOfTheGoldenPartsMatchesItsOutput() throws Exception {
    Golden g = new Golden();
    try (Nf4Weight q = Nf4Weight.fromParts(cpu, g.shape, g.packed, g.qabsmax, g.absmax2, g.offset)) {
      Tensor out = Tensor.host(DType.F32, g.shape);
      cpu.nf4Dequantize(out, q);
      assertArrayEquals(g.dequant, out.toFloatArray());
      Tensor out64 = Tensor.host(DType.F64, g.shape);
      cpu.nf4Dequantize(out64, q);
      for (int i = 0; i < g.dequant.length; i++) assertEquals(g.dequant[i], out64.getDouble(i), 0.0, "f64 out at " + i);
    }
  }

  /**
   * w = u·a, w' = c·a' with |u - c| ≤ NF4_HALF_GAP (nearest code) and |c| ≤ 1, so
   * |w - w'| ≤ NF4_HALF_GAP·a + |a - a'|, and |a - a'| ≤ MAP_HALF_GAP·absmax2 (nearest map entry).
   */
  @Test
  void roundTripErrorStaysWithinTheFormatsBounds() throws Exception {
    Golden g = new Golden();
    checkBounds(g.w, g.shape);
    SplittableRandom rng = new SplittableRandom(7);
    int rows = 97, cols = 320;  // 485 blocks: two absmax2 blocks
    float[] w = new float[rows * cols];
    for (int i = 0; i < w.length; i++) w[i] = (float) (rng.nextGaussian() * 0.02 * (1 + (i / 64) % 5));
    double rel = checkBounds(w, new long[] {rows, cols});
    // NF4 keeps a Gaussian weight to about a tenth of its scale (QLoRA's premise); a broken code table does not.
    assertTrue(rel < 0.12, "relative RMS error " + rel);
  }

  private double checkBounds(float[] w, long[] shape) {
    try (Tensor t = Tensor.hostOf(w, shape); Nf4Weight q = Nf4Weight.quantize(cpu, t)) {
      Tensor out = Tensor.host(DType.F64, shape);
      cpu.nf4Dequantize(out, q);
      double[] d = out.toDoubleArray();
      float[] a2 = q.absmax2(cpu);
      double se = 0, sw = 0;
      int blocks = (w.length + 63) / 64;
      for (int b = 0; b < blocks; b++) {
        double a = 0;
        for (int i = b * 64; i < Math.min(w.length, b * 64 + 64); i++) a = Math.max(a, Math.abs(w[i]));
        // a' from the dequantised block: the element with the largest |code| (±1 when a block's max is kept) ...
        double aq = 0;
        for (int i = b * 64; i < Math.min(w.length, b * 64 + 64); i++) aq = Math.max(aq, Math.abs(d[i]));
        double absErr = MAP_HALF_GAP * a2[b / 256] * (1 + 1e-5) + 1e-6 * a;
        assertEquals(a, aq, absErr, "block " + b + " absmax after double quantisation");
        for (int i = b * 64; i < Math.min(w.length, b * 64 + 64); i++) {
          double bound = NF4_HALF_GAP * a + absErr + 1e-6 * a;
          assertEquals(w[i], d[i], bound, "element " + i);
          se += (w[i] - d[i]) * (w[i] - d[i]);
          sw += (double) w[i] * w[i];
        }
      }
      return Math.sqrt(se / sw);
    }
  }

  /** out = x·deq(W)ᵀ + b and dx = dOut·deq(W) through the BLAS path, against float64 loops over deq(W). */
  @Test
  void dequantGemmForwardAndInputBackwardMatchFloat64() throws Exception {
    Golden g = new Golden();
    int o = (int) g.shape[0], in = (int) g.shape[1], tokens = 5;
    SplittableRandom rng = new SplittableRandom(11);
    try (Nf4Weight q = Nf4Weight.fromParts(cpu, g.shape, g.packed, g.qabsmax, g.absmax2, g.offset)) {
      for (DType dt : new DType[] {DType.F32, DType.F64}) {
        Tensor x = GradCheck.random(rng, 1.0, tokens, in), bias = GradCheck.random(rng, 1.0, o), dOut = GradCheck.random(rng, 1.0, tokens, o);
        Tensor xs = cast(x, dt), biasS = cast(bias, dt), dOutS = cast(dOut, dt);
        Tensor y = Tensor.host(dt, tokens, o), dx = Tensor.host(dt, tokens, in), scratch = Tensor.host(dt, (long) o * in + 7);
        Nf4Linear.forward(cpu, y, xs, q, biasS, scratch);
        Nf4Linear.backward(cpu, dx, dOutS, xs, q, scratch);
        double[] yRef = new double[tokens * o], dxRef = new double[tokens * in];
        double scaleY = 0, scaleDx = 0;
        for (int t = 0; t < tokens; t++) {
          for (int r = 0; r < o; r++) {
            double s = biasS.getDouble(r), m = Math.abs(biasS.getDouble(r));
            for (int k = 0; k < in; k++) {
              double p = xs.getDouble((long) t * in + k) * g.dequant[r * in + k];
              s += p;
              m += Math.abs(p);
            }
            yRef[t * o + r] = s;
            scaleY = Math.max(scaleY, m);
          }
          for (int k = 0; k < in; k++) {
            double s = 0, m = 0;
            for (int r = 0; r < o; r++) {
              double p = dOutS.getDouble((long) t * o + r) * g.dequant[r * in + k];
              s += p;
              m += Math.abs(p);
            }
            dxRef[t * in + k] = s;
            scaleDx = Math.max(scaleDx, m);
          }
        }
        double eps = dt == DType.F32 ? 1e-6 : 1e-14;  // relative to Σ|terms|: the summation error scale
        assertArrayEquals(yRef, y.toDoubleArray(), eps * scaleY, dt + " forward");
        assertArrayEquals(dxRef, dx.toDoubleArray(), eps * scaleDx, dt + " input gradient");
      }
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

  private static Tensor cast(Tensor t, DType dt) {
    if (dt == DType.F64) return t;
    return Tensor.hostOf(t.toFloatArray(), t.shape());
  }
}
