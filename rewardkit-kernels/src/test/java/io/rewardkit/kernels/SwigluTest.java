package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.params.provider.EnumSource;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SwigluTest {
  private final Backend cpu = new CpuBackend();

  private static double silu(double g) { return g / (1 + Math.exp(-g)); }

  @ParameterizedTest(name = "T={0} F={1}")
  @CsvSource({"1,1", "3,7", "5,64", "2,129", "1,11"})
  void backwardMatchesFiniteDifferences(int tokens, int ffn) {
    SplittableRandom rng = new SplittableRandom(tokens * 1000L + ffn);
    Tensor gate = GradCheck.random(rng, 6.0, tokens, ffn);  // covers the saturated tails of the sigmoid
    Tensor up = GradCheck.random(rng, 2.0, tokens, ffn);
    Tensor g = GradCheck.random(rng, 1.0, tokens, ffn);
    Tensor out = Tensor.host(DType.F64, tokens, ffn);
    Tensor dGate = Tensor.host(DType.F64, tokens, ffn);
    Tensor dUp = Tensor.host(DType.F64, tokens, ffn);
    cpu.swigluBackward(dGate, dUp, g, gate, up);
    DoubleSupplier loss = () -> { cpu.swigluForward(out, gate, up); return GradCheck.dot(g, out); };
    GradCheck.check("swiglu dGate", gate, dGate, loss, 200, 1);
    GradCheck.check("swiglu dUp", up, dUp, loss, 200, 2);
  }

  @Test
  void forwardMatchesDefinitionInBothDtypes() {
    SplittableRandom rng = new SplittableRandom(9);
    int tokens = 70, ffn = 517;  // above the OpenMP threshold
    Tensor gate = GradCheck.random(rng, 8.0, tokens, ffn);
    Tensor up = GradCheck.random(rng, 2.0, tokens, ffn);
    Tensor out = Tensor.host(DType.F64, tokens, ffn);
    cpu.swigluForward(out, gate, up);
    Tensor out32 = Tensor.host(DType.F32, tokens, ffn);
    cpu.swigluForward(out32, Tensor.hostOf(gate.toFloatArray(), tokens, ffn), Tensor.hostOf(up.toFloatArray(), tokens, ffn));
    for (int k = 0; k < tokens * ffn; k++) {
      double expect = silu(gate.getDouble(k)) * up.getDouble(k);
      assertEquals(expect, out.getDouble(k), 1e-14 * Math.max(1, Math.abs(expect)));
      // F32 vs F64: inputs rounded to F32 plus a few F32 ops (exp, divide, two multiplies): 1e-6 relative
      // to the magnitude, which with |gate| <= 8 is at most ~16.
      assertEquals(expect, out32.getDouble(k), 1e-6 * Math.max(1, Math.abs(expect)), "element " + k);
    }
  }

  @Test
  void extremeGatesStayFiniteAndBackwardOverwrites() {
    double[] gates = {-1000, -80, -20, 0, 20, 80, 1000};
    double[] ups = {1, 2, 3, 4, 5, 6, 7};
    int n = gates.length;
    for (DType type : new DType[] {DType.F64, DType.F32}) {
      Tensor gate = type == DType.F64 ? Tensor.hostOf(gates, n) : Tensor.hostOf(toFloat(gates), n);
      Tensor up = type == DType.F64 ? Tensor.hostOf(ups, n) : Tensor.hostOf(toFloat(ups), n);
      Tensor out = Tensor.host(type, n);
      cpu.swigluForward(out, gate, up);
      Tensor dGate = Tensor.host(type, n), dUp = Tensor.host(type, n);
      for (int k = 0; k < n; k++) { dGate.setDouble(k, Double.NaN); dUp.setDouble(k, Double.NaN); }
      Tensor ones = Tensor.host(type, n);
      for (int k = 0; k < n; k++) ones.setDouble(k, 1);
      cpu.swigluBackward(dGate, dUp, ones, gate, up);
      for (int k = 0; k < n; k++) {
        double gk = gates[k];
        assertEquals(silu(gk) * ups[k], out.getDouble(k), 1e-6 * Math.max(1, Math.abs(gk * ups[k])), type + " out " + gk);
        assertEquals(silu(gk), dUp.getDouble(k), 1e-6 * Math.max(1, Math.abs(gk)), type + " dUp " + gk);
        double sg = 1 / (1 + Math.exp(-gk));
        assertEquals(ups[k] * sg * (1 + gk * (1 - sg)), dGate.getDouble(k), 1e-6 * ups[k], type + " dGate " + gk);
      }
    }
  }

  /** Backend contract: dGate and dUp overwritten. */
  @ParameterizedTest(name = "{0}")
  @EnumSource(value = DType.class, names = {"F64", "F32"})
  void backwardOverwritesBothGradients(DType type) {
    SplittableRandom rng = new SplittableRandom(25);
    int tokens = 4, ffn = 23;
    Tensor gate = GradCheck.cast(GradCheck.random(rng, 4.0, tokens, ffn), type);
    Tensor up = GradCheck.cast(GradCheck.random(rng, 2.0, tokens, ffn), type);
    Tensor g = GradCheck.cast(GradCheck.random(rng, 1.0, tokens, ffn), type);
    GradContract.check(cpu, "swiglu", GradCheck.contractTolerance(type),
        d -> cpu.swigluBackward(d[0], d[1], g, gate, up),
        GradContract.overwrite("dGate", type, tokens, ffn), GradContract.overwrite("dUp", type, tokens, ffn));
  }

  private static float[] toFloat(double[] d) {
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
    return f;
  }

  @Test
  void badArgumentsAreRejected() {
    Tensor a = Tensor.host(DType.F64, 2, 3);
    assertThrows(IllegalArgumentException.class, () -> cpu.swigluForward(a, a, Tensor.host(DType.F64, 2, 4)));
    assertThrows(IllegalArgumentException.class, () -> cpu.swigluForward(Tensor.host(DType.F64, 5), a, a));
    assertThrows(IllegalArgumentException.class, () -> cpu.swigluForward(Tensor.host(DType.F32, 2, 3), a, a));
    assertThrows(IllegalArgumentException.class,
        () -> cpu.swigluBackward(Tensor.host(DType.F64, 2, 3), Tensor.host(DType.F64, 7), a, a, a));
    assertThrows(IllegalArgumentException.class,
        () -> cpu.swigluForward(Tensor.host(DType.I32, 2), Tensor.host(DType.I32, 2), Tensor.host(DType.I32, 2)));
  }
}
