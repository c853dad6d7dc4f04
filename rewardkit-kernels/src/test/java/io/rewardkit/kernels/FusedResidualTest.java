package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fused residual ops (issue 17) against the unfused calls they replace in the decoder layer, bit for bit, and
 * against float64 finite differences:
 * <ul>
 *   <li>{@link Backend#residualRmsnormForward}: y = x + delta, out = rmsnorm(y) · w, rstd, vs copy + addInPlace +
 *       rmsnormForward;
 *   <li>{@link Backend#add}: out = a + b vs copy + addInPlace;
 *   <li>{@link Backend#rmsnormBackward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, boolean)} with accumulateDx vs
 *       the overwrite into a scratch + addInPlace.
 * </ul>
 * Shapes: T = 1, D = 1, odd D, D not a multiple of 8 or 16, D above the 8-lane sum's width, and a large case above the
 * add's OpenMP threshold; F32 and F64.
 */
class FusedResidualTest {
  private final Backend cpu = new CpuBackend();

  static java.util.stream.Stream<Arguments> shapes() {
    return java.util.stream.Stream.of(
        Arguments.of(1, 1), Arguments.of(1, 7), Arguments.of(3, 1), Arguments.of(5, 13), Arguments.of(4, 24),
        Arguments.of(7, 33), Arguments.of(2, 64), Arguments.of(9, 250), Arguments.of(300, 896));
  }

  private static Tensor rnd(SplittableRandom rng, double scale, DType type, long... shape) {
    return GradCheck.cast(GradCheck.random(rng, scale, shape), type);
  }

  private static void assertBitEqual(String what, Tensor expect, Tensor got) {
    assertEquals(expect.numel(), got.numel(), what);
    for (long i = 0; i < expect.numel(); i++) {
      double e = expect.getDouble(i), g = got.getDouble(i);
      if (Double.doubleToRawLongBits(e) != Double.doubleToRawLongBits(g)) {
        fail(what + ": element " + i + " is " + g + ", the unfused path gives " + e + " (not bit-identical)");
      }
    }
  }

  @ParameterizedTest(name = "T={0} D={1}")
  @MethodSource("shapes")
  void residualRmsnormIsBitIdenticalToCopyAddNorm(int rows, int dim) {
    for (DType type : new DType[] {DType.F32, DType.F64}) {
      SplittableRandom rng = new SplittableRandom(rows * 31L + dim);
      Tensor x = rnd(rng, 2.0, type, rows, dim), delta = rnd(rng, 0.7, type, rows, dim), w = rnd(rng, 1.0, type, dim);
      double eps = 1e-6;
      Tensor yRef = Tensor.host(type, rows, dim), outRef = Tensor.host(type, rows, dim), rstdRef = Tensor.host(type, rows);
      cpu.copy(yRef, x);
      cpu.addInPlace(yRef, delta);
      cpu.rmsnormForward(outRef, rstdRef, yRef, w, eps);

      Tensor y = Tensor.host(type, rows, dim), out = Tensor.host(type, rows, dim), rstd = Tensor.host(type, rows);
      double[] xBefore = x.toDoubleArray();
      cpu.residualRmsnormForward(y, out, rstd, x, delta, w, eps);
      assertBitEqual(type + " y", yRef, y);
      assertBitEqual(type + " out", outRef, out);
      assertBitEqual(type + " rstd", rstdRef, rstd);
      assertArrayEquals(xBefore, x.toDoubleArray(), 0.0, "x is read only");

      // In place: y = x (the residual stream updated where it lies).
      Tensor xy = Tensor.host(type, rows, dim);
      cpu.copy(xy, x);
      Tensor out2 = Tensor.host(type, rows, dim), rstd2 = Tensor.host(type, rows);
      cpu.residualRmsnormForward(xy, out2, rstd2, xy, delta, w, eps);
      assertBitEqual(type + " y in place", yRef, xy);
      assertBitEqual(type + " out in place", outRef, out2);
    }
  }

  @ParameterizedTest(name = "T={0} D={1}")
  @MethodSource("shapes")
  void accumulatingBackwardIsBitIdenticalToOverwriteThenAdd(int rows, int dim) {
    for (DType type : new DType[] {DType.F32, DType.F64}) {
      SplittableRandom rng = new SplittableRandom(rows * 17L + dim);
      Tensor x = rnd(rng, 1.5, type, rows, dim), w = rnd(rng, 1.0, type, dim), g = rnd(rng, 1.0, type, rows, dim);
      Tensor dres0 = rnd(rng, 1.0, type, rows, dim);
      Tensor rstd = Tensor.host(type, rows);
      cpu.rmsnormForward(Tensor.host(type, rows, dim), rstd, x, w, 1e-6);

      Tensor dresRef = Tensor.host(type, rows, dim), scratch = Tensor.host(type, rows, dim), dwRef = rnd(rng, 1.0, type, dim);
      Tensor dw = Tensor.host(type, dim);
      cpu.copy(dw, dwRef);
      cpu.copy(dresRef, dres0);
      cpu.rmsnormBackward(scratch, dwRef, g, x, w, rstd);
      cpu.addInPlace(dresRef, scratch);

      Tensor dres = Tensor.host(type, rows, dim);
      cpu.copy(dres, dres0);
      cpu.rmsnormBackward(dres, dw, g, x, w, rstd, true);
      assertBitEqual(type + " dx (accumulated)", dresRef, dres);
      assertBitEqual(type + " dw", dwRef, dw);

      // accumulateDx = false is the plain overwrite.
      Tensor dx = rnd(rng, 1.0, type, rows, dim);
      cpu.rmsnormBackward(dx, Tensor.host(type, dim), g, x, w, rstd, false);
      assertBitEqual(type + " dx (overwritten)", scratch, dx);
    }
  }

  @ParameterizedTest(name = "n={0}")
  @org.junit.jupiter.params.provider.ValueSource(ints = {1, 7, 1000, 300_001})
  void threeOperandAddIsBitIdenticalToCopyAdd(int n) {
    for (DType type : new DType[] {DType.F32, DType.F64}) {
      SplittableRandom rng = new SplittableRandom(n);
      Tensor a = rnd(rng, 1.0, type, n), b = rnd(rng, 1.0, type, n);
      Tensor ref = Tensor.host(type, n);
      cpu.copy(ref, a);
      cpu.addInPlace(ref, b);
      Tensor out = Tensor.host(type, n);
      cpu.add(out, a, b);
      assertBitEqual(type + " add", ref, out);
      for (int i = 0; i < Math.min(n, 1000); i++) {
        double expect = type == DType.F32 ? (float) a.getDouble(i) + (float) b.getDouble(i) : a.getDouble(i) + b.getDouble(i);
        assertEquals(expect, out.getDouble(i), 0.0);
      }
      // out aliasing either operand
      Tensor a2 = Tensor.host(type, n), b2 = Tensor.host(type, n);
      cpu.copy(a2, a);
      cpu.copy(b2, b);
      cpu.add(a2, a2, b);
      cpu.add(b2, a, b2);
      assertBitEqual(type + " add into a", ref, a2);
      assertBitEqual(type + " add into b", ref, b2);
    }
  }

  /**
   * Float64 finite differences through the fused forward: L = Σ g ⊙ out + Σ h ⊙ y (y is the next residual, so it
   * carries a gradient of its own). Then dL/dx = dL/ddelta = h + rmsnorm_backward(g) — exactly what the decoder layer
   * computes with the accumulating backward on dres = h — and dL/dw is rmsnorm's dw.
   */
  @ParameterizedTest(name = "T={0} D={1}")
  @MethodSource("shapes")
  void fusedForwardAndAccumulatingBackwardMatchFiniteDifferences(int rows, int dim) {
    if ((long) rows * dim > 5000) return;  // finite differences probe every element; the large shape is for bit-identity
    SplittableRandom rng = new SplittableRandom(rows * 1000L + dim);
    Tensor x = GradCheck.random(rng, 1.0, rows, dim), delta = GradCheck.random(rng, 0.5, rows, dim);
    Tensor w = GradCheck.random(rng, 1.0, dim);
    Tensor g = GradCheck.random(rng, 1.0, rows, dim), h = GradCheck.random(rng, 1.0, rows, dim);
    Tensor y = Tensor.host(DType.F64, rows, dim), out = Tensor.host(DType.F64, rows, dim), rstd = Tensor.host(DType.F64, rows);
    double eps = 1e-6;
    cpu.residualRmsnormForward(y, out, rstd, x, delta, w, eps);

    Tensor dres = Tensor.host(DType.F64, rows, dim), dw = Tensor.host(DType.F64, dim);
    cpu.copy(dres, h);
    cpu.rmsnormBackward(dres, dw, g, y, w, rstd, true);

    java.util.function.DoubleSupplier loss = () -> {
      cpu.residualRmsnormForward(y, out, rstd, x, delta, w, eps);
      return GradCheck.dot(g, out) + GradCheck.dot(h, y);
    };
    GradCheck.check("residual_rmsnorm dx", x, dres, loss, 300, 1);
    GradCheck.check("residual_rmsnorm ddelta", delta, dres, loss, 300, 2);
    GradCheck.check("residual_rmsnorm dw", w, dw, loss, 300, 3);
  }

  /** The Backend contract of the accumulating backward: dx and dw both accumulate. */
  @ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.EnumSource(value = DType.class, names = {"F64", "F32"})
  void accumulatingBackwardAccumulatesDxAndDw(DType type) {
    SplittableRandom rng = new SplittableRandom(23);
    int rows = 5, dim = 33;
    Tensor x = rnd(rng, 1.0, type, rows, dim), w = rnd(rng, 1.0, type, dim), g = rnd(rng, 1.0, type, rows, dim);
    Tensor rstd = Tensor.host(type, rows);
    cpu.rmsnormForward(Tensor.host(type, rows, dim), rstd, x, w, 1e-6);
    GradContract.check(cpu, "rmsnorm (accumulateDx)", GradCheck.contractTolerance(type),
        d -> cpu.rmsnormBackward(d[0], d[1], g, x, w, rstd, true),
        GradContract.accumulate("dx", type, rows, dim), GradContract.accumulate("dw", type, dim));
  }

  @Test
  void badArgumentsAreRejected() {
    Tensor x = Tensor.host(DType.F64, 2, 4), w = Tensor.host(DType.F64, 4);
    assertThrows(IllegalArgumentException.class, () -> cpu.residualRmsnormForward(Tensor.host(DType.F64, 2, 4),
        Tensor.host(DType.F64, 2, 4), Tensor.host(DType.F64, 2), x, Tensor.host(DType.F64, 2, 3), w, 1e-6));
    assertThrows(IllegalArgumentException.class, () -> cpu.residualRmsnormForward(Tensor.host(DType.F32, 2, 4),
        Tensor.host(DType.F64, 2, 4), Tensor.host(DType.F64, 2), x, Tensor.host(DType.F64, 2, 4), w, 1e-6));
    assertThrows(IllegalArgumentException.class, () -> cpu.residualRmsnormForward(Tensor.host(DType.F64, 2, 4),
        Tensor.host(DType.F64, 2, 4), Tensor.host(DType.F64, 3), x, Tensor.host(DType.F64, 2, 4), w, 1e-6));
    assertThrows(IllegalArgumentException.class, () -> cpu.add(Tensor.host(DType.F64, 3), Tensor.host(DType.F64, 3),
        Tensor.host(DType.F64, 4)));
    assertThrows(IllegalArgumentException.class, () -> cpu.add(Tensor.host(DType.F64, 3), Tensor.host(DType.F32, 3),
        Tensor.host(DType.F64, 3)));
    assertThrows(IllegalArgumentException.class, () -> cpu.add(Tensor.host(DType.I32, 3), Tensor.host(DType.I32, 3),
        Tensor.host(DType.I32, 3)));
  }
}
