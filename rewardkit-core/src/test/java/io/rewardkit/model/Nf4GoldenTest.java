package io.rewardkit.model;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Nf4Bounds;
import io.rewardkit.kernels.Nf4Weight;
import io.rewardkit.kernels.Tensor;
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
 * bitsandbytes' quantize_4bit / dequantize_4bit; bitsandbytes itself is not installable here), and the
 * dequant-GEMM on the golden weight against float64. Kernel-level checks without the golden: Nf4Test.
 */
class Nf4GoldenTest {
  private final Backend cpu = new CpuBackend();

  private static final class Golden {
    final long[] shape;
    final float[] w;
    final byte[] packed;
    final byte[] qabsmax;
    final float[] absmax2;
    final float offset;
    final float[] dequant;

    Golden() throws IOException, URISyntaxException {
      Path p = Path.of(Nf4GoldenTest.class.getResource("/nf4/golden.safetensors").toURI());
      try (SafetensorsFile f = SafetensorsFile.open(p); FileChannel ch = FileChannel.open(p)) {
        shape = f.entry("w").shape();
        w = f.readFloats("w");
        packed = raw(ch, f.entry("packed"));
        qabsmax = raw(ch, f.entry("qabsmax"));
        absmax2 = f.readFloats("absmax2");
        offset = f.readFloats("offset")[0];
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

  /** The golden's blocks span five orders of magnitude and include an all-zero block: the format's bounds hold. */
  @Test
  void goldenRoundTripStaysWithinTheFormatsBounds() throws Exception {
    Golden g = new Golden();
    Nf4Bounds.check(cpu, g.w, g.shape);
  }

  /** out = x·deq(W)ᵀ + b and dx = dOut·deq(W) through the BLAS path, against float64 loops over the golden deq(W). */
  @Test
  void dequantGemmForwardAndInputBackwardMatchFloat64() throws Exception {
    Golden g = new Golden();
    try (Nf4Weight q = Nf4Weight.fromParts(cpu, g.shape, g.packed, g.qabsmax, g.absmax2, g.offset)) {
      Nf4Bounds.checkGemm(cpu, q, g.dequant, new SplittableRandom(11));
    }
  }
}
