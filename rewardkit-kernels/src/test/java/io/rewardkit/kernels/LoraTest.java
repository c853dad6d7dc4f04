package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.kernels.cpu.CpuThreads;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The LoRA low-rank path (out += s · (x · Aᵀ) · Bᵀ) against float64 finite differences and a direct sum. */
class LoraTest {
  private final Backend cpu = new CpuBackend();

  /** The loss Σ g ⊙ (base + lora(x)) for a fixed base, so the analytic gradients are lora_backward applied to g. */
  @ParameterizedTest(name = "T={0} I={1} O={2} r={3} s={4}")
  @CsvSource({"1,1,1,1,2.0", "7,13,11,3,0.5", "5,64,129,8,2.0", "3,9,5,16,1.7", "130,33,17,4,0.25"})
  void backwardMatchesFiniteDifferences(int tokens, int in, int out, int rank, double scale) {
    SplittableRandom rng = new SplittableRandom(tokens * 7919L + in * 31L + out * 7L + rank);
    Tensor x = GradCheck.random(rng, 1.0, tokens, in);
    Tensor a = GradCheck.random(rng, 1.0, rank, in);
    Tensor b = GradCheck.random(rng, 1.0, out, rank);  // non-zero B: PEFT's zero init would hide dA
    Tensor base = GradCheck.random(rng, 1.0, tokens, out);
    Tensor g = GradCheck.random(rng, 1.0, tokens, out);
    Tensor y = Tensor.host(DType.F64, tokens, out);
    Tensor u = Tensor.host(DType.F64, tokens, rank);
    DoubleSupplier loss = () -> {
      for (long k = 0; k < y.numel(); k++) y.setDouble(k, base.getDouble(k));
      cpu.loraForward(y, u, x, a, b, scale);
      return GradCheck.dot(g, y);
    };
    loss.getAsDouble();  // u for backward
    Tensor dx = GradCheck.random(rng, 1.0, tokens, in);   // the base linear's dx: lora_backward adds to it
    Tensor dx0 = Tensor.hostOf(dx.toDoubleArray(), tokens, in);
    Tensor da = GradCheck.random(rng, 1.0, rank, in);     // parameter grads accumulate
    Tensor da0 = Tensor.hostOf(da.toDoubleArray(), rank, in);
    Tensor db = GradCheck.random(rng, 1.0, out, rank);
    Tensor db0 = Tensor.hostOf(db.toDoubleArray(), out, rank);
    Tensor du = Tensor.host(DType.F64, tokens, rank);
    cpu.loraBackward(dx, da, db, du, g, x, u, a, b, scale);
    GradCheck.check("lora dx", x, minus(dx, dx0), loss, 300, 1);
    GradCheck.check("lora dA", a, minus(da, da0), loss, 300, 2);
    GradCheck.check("lora dB", b, minus(db, db0), loss, 300, 3);

    // dx null: the same parameter gradients, nothing else written
    Tensor da2 = Tensor.host(DType.F64, rank, in), db2 = Tensor.host(DType.F64, out, rank);
    cpu.loraBackward(null, da2, db2, du, g, x, u, a, b, scale);
    assertArrayEquals(minus(da, da0).toDoubleArray(), da2.toDoubleArray(), 1e-12);
    assertArrayEquals(minus(db, db0).toDoubleArray(), db2.toDoubleArray(), 1e-12);
  }

  private static Tensor minus(Tensor p, Tensor q) {
    Tensor r = Tensor.host(DType.F64, p.shape());
    for (long k = 0; k < p.numel(); k++) r.setDouble(k, p.getDouble(k) - q.getDouble(k));
    return r;
  }

  @Test
  void forwardMatchesDirectSumInBothDtypesAndAnyThreadCount() {
    SplittableRandom rng = new SplittableRandom(5);
    int tokens = 301, in = 67, out = 45, rank = 6;  // above the OpenMP threshold
    double scale = 16.0 / Math.sqrt(rank);
    Tensor x = GradCheck.random(rng, 1.0, tokens, in), a = GradCheck.random(rng, 0.5, rank, in);
    Tensor b = GradCheck.random(rng, 0.5, out, rank), base = GradCheck.random(rng, 1.0, tokens, out);
    Tensor y = Tensor.hostOf(base.toDoubleArray(), tokens, out);
    cpu.loraForward(y, Tensor.host(DType.F64, tokens, rank), x, a, b, scale);
    float[] f32 = null;
    int before = CpuThreads.get_cpu_threads();
    for (int threads : new int[] {1, 2, 3}) {
      CpuThreads.set_cpu_threads(threads);  // the LoRA kernel is OpenMP only; OpenBLAS keeps its count
      Tensor y32 = Tensor.hostOf(base.toFloatArray(), tokens, out);
      cpu.loraForward(y32, Tensor.host(DType.F32, tokens, rank), Tensor.hostOf(x.toFloatArray(), tokens, in),
          Tensor.hostOf(a.toFloatArray(), rank, in), Tensor.hostOf(b.toFloatArray(), out, rank), scale);
      if (f32 == null) f32 = y32.toFloatArray();
      else assertArrayEquals(f32, y32.toFloatArray(), "threads " + threads + " changed the result");
    }
    CpuThreads.set_cpu_threads(before);
    for (int t = 0; t < tokens; t++) {
      for (int o = 0; o < out; o++) {
        double s = 0;
        for (int j = 0; j < rank; j++) {
          double uj = 0;
          for (int i = 0; i < in; i++) uj += x.getDouble((long) t * in + i) * a.getDouble((long) j * in + i);
          s += uj * b.getDouble((long) o * rank + j);
        }
        double expect = base.getDouble((long) t * out + o) + scale * s;
        assertEquals(expect, y.getDouble((long) t * out + o), 1e-12, "t " + t + " o " + o);
        assertEquals(expect, f32[t * out + o], 2e-5 * Math.max(1, Math.abs(expect)), "f32 t " + t + " o " + o);
      }
    }
  }

  @Test
  void badShapesAreRefusedNamingTheOp() {
    Tensor x = Tensor.host(DType.F32, 4, 8), a = Tensor.host(DType.F32, 2, 8), b = Tensor.host(DType.F32, 5, 3);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> cpu.loraForward(Tensor.host(DType.F32, 4, 5), Tensor.host(DType.F32, 4, 2), x, a, b, 1.0));
    assertTrue(e.getMessage().startsWith("lora_forward"), e.getMessage());
  }
}
