package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LinearTest {
  private final Backend cpu = new CpuBackend();

  @ParameterizedTest(name = "T={0} I={1} O={2} bias={3}")
  @CsvSource({"1,1,1,true", "3,5,7,true", "4,16,1,false", "1,33,9,true", "6,8,17,false"})
  void backwardMatchesFiniteDifferences(int tokens, int in, int out, boolean withBias) {
    SplittableRandom rng = new SplittableRandom(tokens * 1_000_000L + in * 1000L + out);
    Tensor x = GradCheck.random(rng, 1.0, tokens, in);
    Tensor w = GradCheck.random(rng, 1.0, out, in);
    Tensor bias = withBias ? GradCheck.random(rng, 1.0, out) : null;
    Tensor g = GradCheck.random(rng, 1.0, tokens, out);
    Tensor y = Tensor.host(DType.F64, tokens, out);
    Tensor dx = Tensor.host(DType.F64, tokens, in);
    Tensor dw = Tensor.host(DType.F64, out, in);
    Tensor dBias = withBias ? Tensor.host(DType.F64, out) : null;
    cpu.linearBackward(dx, dw, dBias, g, x, w);

    java.util.function.DoubleSupplier loss = () -> { cpu.linearForward(y, x, w, bias); return GradCheck.dot(g, y); };
    GradCheck.check("linear dx", x, dx, loss, 200, 1);
    GradCheck.check("linear dw", w, dw, loss, 200, 2);
    if (withBias) GradCheck.check("linear dBias", bias, dBias, loss, 200, 3);
  }

  /** Direct triple loop: out[t, o] = Σ_i x[t, i] w[o, i] + bias[o]. */
  private static double[] reference(Tensor x, Tensor w, Tensor bias, int tokens, int in, int out) {
    double[] y = new double[tokens * out];
    for (int t = 0; t < tokens; t++) {
      for (int o = 0; o < out; o++) {
        double s = bias == null ? 0 : bias.getDouble(o);
        for (int i = 0; i < in; i++) s += x.getDouble((long) t * in + i) * w.getDouble((long) o * in + i);
        y[t * out + o] = s;
      }
    }
    return y;
  }

  @Test
  void forwardMatchesDefinitionInBothDtypesAndOnViews() {
    SplittableRandom rng = new SplittableRandom(5);
    int tokens = 7, in = 37, out = 19;
    // x and out are views at an offset into larger buffers: the pointer position must reach BLAS.
    Tensor xBig = GradCheck.random(rng, 1.0, tokens * in + 3);
    Tensor x = xBig.view(3, tokens, in);
    Tensor w = GradCheck.random(rng, 1.0, out, in);
    Tensor bias = GradCheck.random(rng, 1.0, out);
    Tensor yBig = Tensor.host(DType.F64, tokens * out + 5);
    Tensor y = yBig.view(5, tokens, out);
    cpu.linearForward(y, x, w, bias);
    double[] expect = reference(x, w, bias, tokens, in, out);
    for (int k = 0; k < 5; k++) assertEquals(0.0, yBig.getDouble(k), "write before the view");
    assertArrayEquals(expect, y.toDoubleArray(), 1e-12);

    Tensor y32 = Tensor.host(DType.F32, tokens, out);
    cpu.linearForward(y32, Tensor.hostOf(x.toFloatArray(), tokens, in), Tensor.hostOf(w.toFloatArray(), out, in),
        Tensor.hostOf(bias.toFloatArray(), out));
    // F32 vs F64: a dot of I = 37 products of magnitude <= 1 loses at most ~I * 2^-24 * Σ|x w|; 1e-5 covers it.
    float[] got32 = y32.toFloatArray();
    for (int k = 0; k < expect.length; k++) assertEquals(expect[k], got32[k], 1e-5, "element " + k);

    Tensor noBias = Tensor.host(DType.F64, tokens, out);
    cpu.linearForward(noBias, x, w, null);
    assertArrayEquals(reference(x, w, null, tokens, in, out), noBias.toDoubleArray(), 1e-12);
  }

  @Test
  void backwardOverwritesDxAndAccumulatesParameterGradsInBothDtypes() {
    SplittableRandom rng = new SplittableRandom(6);
    int tokens = 5, in = 9, out = 300;  // O spans two bias column blocks
    for (DType type : new DType[] {DType.F64, DType.F32}) {
      Tensor x = GradCheck.cast(GradCheck.random(rng, 1.0, tokens, in), type);
      Tensor w = GradCheck.cast(GradCheck.random(rng, 1.0, out, in), type);
      Tensor g = GradCheck.cast(GradCheck.random(rng, 1.0, tokens, out), type);
      Tensor dx = Tensor.host(type, tokens, in);
      for (int k = 0; k < dx.numel(); k++) dx.setDouble(k, Double.NaN);  // stale garbage must not leak
      Tensor dw = Tensor.host(type, out, in);
      Tensor dBias = Tensor.host(type, out);
      for (int k = 0; k < dw.numel(); k++) dw.setDouble(k, 0.5);
      for (int k = 0; k < out; k++) dBias.setDouble(k, -0.25);
      cpu.linearBackward(dx, dw, dBias, g, x, w);
      for (int t = 0; t < tokens; t++) {
        for (int i = 0; i < in; i++) {
          double s = 0, a = 0;
          for (int o = 0; o < out; o++) {
            double term = g.getDouble((long) t * out + o) * w.getDouble((long) o * in + i);
            s += term;
            a += Math.abs(term);
          }
          assertNear(s, dx.getDouble((long) t * in + i), a, type, "dx");
        }
      }
      for (int o = 0; o < out; o++) {
        double sb = -0.25, ab = 0.25;
        for (int t = 0; t < tokens; t++) {
          sb += g.getDouble((long) t * out + o);
          ab += Math.abs(g.getDouble((long) t * out + o));
        }
        assertNear(sb, dBias.getDouble(o), ab, type, "dBias");
        for (int i = 0; i < in; i++) {
          double s = 0.5, a = 0.5;
          for (int t = 0; t < tokens; t++) {
            double term = g.getDouble((long) t * out + o) * x.getDouble((long) t * in + i);
            s += term;
            a += Math.abs(term);
          }
          assertNear(s, dw.getDouble((long) o * in + i), a, type, "dw");
        }
      }
      // dx == null: parameter gradients only (the first layer has no input gradient to produce).
      Tensor dw2 = Tensor.host(type, out, in);
      cpu.linearBackward(null, dw2, null, g, x, w);
      for (int k = 0; k < dw2.numel(); k++) assertEquals(dw.getDouble(k) - 0.5, dw2.getDouble(k), 1e-5);
    }
  }

  /**
   * A sum of n terms in a dtype with unit roundoff u is off by at most n·u·Σ|terms|; inputs rounded to
   * F32 add ~3u·Σ|terms|. The stated bound: F64 1e-13·Σ|terms|, F32 2e-5·Σ|terms| (n ≤ 300 here).
   */
  private static void assertNear(double expect, double got, double absSum, DType type, String what) {
    double tol = (type == DType.F64 ? 1e-13 : 2e-5) * Math.max(absSum, 1e-30);
    assertEquals(expect, got, tol, type + " " + what);
  }


  /** Backend contract: dx overwritten, dw and dBias accumulated; also with dx == null. */
  @ParameterizedTest(name = "{0}")
  @EnumSource(value = DType.class, names = {"F64", "F32"})
  void backwardFollowsTheAccumulateContract(DType type) {
    SplittableRandom rng = new SplittableRandom(23);
    int tokens = 6, in = 11, out = 13;
    Tensor x = GradCheck.cast(GradCheck.random(rng, 1.0, tokens, in), type);
    Tensor w = GradCheck.cast(GradCheck.random(rng, 1.0, out, in), type);
    Tensor g = GradCheck.cast(GradCheck.random(rng, 1.0, tokens, out), type);
    double tol = GradCheck.contractTolerance(type);
    GradContract.check(cpu, "linear", tol, d -> cpu.linearBackward(d[0], d[1], d[2], g, x, w),
        GradContract.overwrite("dx", type, tokens, in), GradContract.accumulate("dw", type, out, in),
        GradContract.accumulate("dBias", type, out));
    GradContract.check(cpu, "linear (dx null)", tol, d -> cpu.linearBackward(null, d[0], d[1], g, x, w),
        GradContract.accumulate("dw", type, out, in), GradContract.accumulate("dBias", type, out));
  }

  @Test
  void badArgumentsAreRejected() {
    Tensor x = Tensor.host(DType.F64, 3, 4);
    Tensor w = Tensor.host(DType.F64, 5, 4);
    Tensor y = Tensor.host(DType.F64, 3, 5);
    assertThrows(IllegalArgumentException.class, () -> cpu.linearForward(y, x, Tensor.host(DType.F64, 20), null));
    assertThrows(IllegalArgumentException.class, () -> cpu.linearForward(y, Tensor.host(DType.F64, 3, 3), w, null));
    assertThrows(IllegalArgumentException.class, () -> cpu.linearForward(Tensor.host(DType.F64, 3, 4), x, w, null));
    assertThrows(IllegalArgumentException.class, () -> cpu.linearForward(y, x, w, Tensor.host(DType.F64, 4)));
    assertThrows(IllegalArgumentException.class, () -> cpu.linearForward(y, x, Tensor.host(DType.F32, 5, 4), null));
    assertThrows(IllegalArgumentException.class,
        () -> cpu.linearForward(Tensor.host(DType.I32, 3, 5), Tensor.host(DType.I32, 3, 4), Tensor.host(DType.I32, 5, 4), null));
    assertThrows(IllegalArgumentException.class,
        () -> cpu.linearBackward(Tensor.host(DType.F64, 3, 5), Tensor.host(DType.F64, 5, 4), null, y, x, w));
    assertThrows(IllegalArgumentException.class,
        () -> cpu.linearBackward(null, Tensor.host(DType.F64, 5, 3), null, y, x, w));
    assertThrows(IllegalArgumentException.class,
        () -> cpu.linearBackward(null, Tensor.host(DType.F64, 5, 4), Tensor.host(DType.F64, 3), y, x, w));
  }
}
