package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.kernels.cpu.VecExp;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

/**
 * The vectorised float exp of the CPU kernels (rewardkit/vec_exp.h) against {@code Math.exp} in double
 * over the whole float range it is used on: a sweep over float bit patterns from -110 to +95 (normal,
 * subnormal, underflowing and overflowing results), the special values, and masked-score rows
 * (-inf mixed with finite values, lengths that leave vector tails). Every encoding this CPU supports
 * (scalar, AVX2, AVX-512) is checked and must agree bit for bit with the scalar one.
 *
 * <p>Stated bounds: at most 2 ulp (relative to the float spacing at the exact result) for normal results,
 * at most one subnormal step (2^-149) for subnormal ones, exact +0 below -104, +inf above the float range.
 * Measured: 0.88 ulp and 0.78 subnormal steps on this sweep; 0.92 ulp and 0.81 steps on every 61st pattern.
 */
class VecExpTest {
  private static final double MIN_SUBNORMAL = Math.scalb(1.0, -149);

  /** Every 1009th float bit pattern with a finite value in [-110, 95] (about 2.1 million), plus the edge values. */
  private static float[] sweep() {
    float[] edges = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, 1f, -1f, 88.72283f, 88.72284f, 88.7229f, 89f, 89.5f,
        -87.33654f, -87.33655f, -103.97208f, -103.9721f, -104f, -104.00001f, -150f, -1e30f, 1e30f,
        Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, -Float.MAX_VALUE, Float.MAX_VALUE,
        0.34657359f, -0.34657359f, 0.3465736f, -0.3465736f, 1e-8f, -1e-8f};
    float[] xs = new float[(int) (0x100000000L / 1009) + 1 + edges.length];
    int n = 0;
    for (long bits = 0; bits <= 0xFFFFFFFFL; bits += 1009) {
      float f = Float.intBitsToFloat((int) bits);
      if (Float.isFinite(f) && f > -110f && f < 95f) xs[n++] = f;
    }
    for (float e : edges) xs[n++] = e;
    return java.util.Arrays.copyOf(xs, n);
  }

  private static float[] run(float[] x, int isa) {
    try (FloatPointer px = new FloatPointer(x); FloatPointer py = new FloatPointer(x.length)) {
      VecExp.vec_exp_f32_isa(py, px, x.length, isa);
      float[] y = new float[x.length];
      py.get(y);
      return y;
    }
  }

  private static List<Integer> supported() {
    List<Integer> isas = new ArrayList<>();
    for (int isa : new int[] {VecExp.SCALAR, VecExp.AVX2, VecExp.AVX512}) {
      if (VecExp.vec_exp_isa_supported(isa)) isas.add(isa);
    }
    return isas;
  }

  /** Error of y against exp(x) in ulps of the exact result (normal range) or in subnormal steps; -1 if exact-class checks fail. */
  private static void check(String what, float x, float y, double[] worst) {
    double e = Math.exp(x);
    if (Float.isNaN(x)) {
      assertTrue(Float.isNaN(y), what + ": exp(NaN) = " + y);
    } else if (x < -104f) {
      assertEquals(0, Float.floatToRawIntBits(y), what + ": exp(" + x + ") must be +0, got " + y);
    } else if (e > Float.MAX_VALUE) {
      // Results that round above FLT_MAX: +inf (a float result at FLT_MAX is accepted only within 2 ulp).
      assertTrue(y == Float.POSITIVE_INFINITY || Math.abs(y - e) <= 2 * Math.ulp(Float.MAX_VALUE),
          what + ": exp(" + x + ") = " + e + " overflows, got " + y);
    } else if (e < Float.MIN_NORMAL) {
      double steps = Math.abs(y - e) / MIN_SUBNORMAL;
      worst[1] = Math.max(worst[1], steps);
      assertTrue(steps <= 1.0, what + ": exp(" + x + ") = " + e + " (subnormal), got " + y + ", " + steps + " steps off");
    } else {
      double ulp = Math.ulp((float) e);
      if (e < Math.scalb(1.0, Math.getExponent((float) e))) ulp /= 2;  // (float) e rounded up to a power of 2
      double ulps = Math.abs(y - e) / ulp;
      if (ulps > worst[0]) { worst[0] = ulps; worst[2] = x; }
      assertTrue(ulps <= 2.0, what + ": exp(" + x + ") = " + e + ", got " + y + ", " + ulps + " ulp off");
    }
  }

  @Test
  void everyEncodingIsAccurateOverTheFloatRange() {
    float[] x = sweep();
    assertTrue(x.length > 2_000_000, "sweep size " + x.length);
    List<Integer> isas = supported();
    assertTrue(isas.contains(VecExp.SCALAR));
    assertTrue(isas.contains(VecExp.vec_exp_best_isa()), "best encoding " + VecExp.vec_exp_best_isa() + " in " + isas);
    float[] scalar = run(x, VecExp.SCALAR);
    for (int isa : isas) {
      float[] y = isa == VecExp.SCALAR ? scalar : run(x, isa);
      double[] worst = {0, 0, Double.NaN};
      for (int i = 0; i < x.length; i++) {
        check("isa " + isa, x[i], y[i], worst);
        assertEquals(Float.floatToRawIntBits(scalar[i]), Float.floatToRawIntBits(y[i]),
            "isa " + isa + " differs from scalar at x=" + x[i] + ": " + y[i] + " vs " + scalar[i]);
      }
      System.out.printf("vec_exp isa %d: %d inputs, max %.3f ulp (at x=%s), subnormal max %.3f steps%n",
          isa, x.length, worst[0], worst[2], worst[1]);
    }
  }

  /**
   * Attention's use: rows of shifted scores s − max with masked entries at -inf, all lengths 1..70 so the
   * vector bodies and every tail length run; the best encoding (what the kernels call) against double exp.
   */
  @Test
  void maskedScoreRowsOfEveryLength() {
    SplittableRandom rng = new SplittableRandom(17);
    for (int n = 1; n <= 70; n++) {
      float[] x = new float[n];
      for (int i = 0; i < n; i++) {
        int kind = rng.nextInt(5);
        x[i] = kind == 0 ? Float.NEGATIVE_INFINITY : kind == 1 ? (float) (-rng.nextDouble() * 120) : (float) (-rng.nextDouble() * 20);
      }
      x[rng.nextInt(n)] = 0f;  // the row maximum: exp(0) = 1 exactly
      float[] y = run(x, VecExp.AUTO);
      double[] worst = {0, 0, 0};
      for (int i = 0; i < n; i++) {
        check("row length " + n + " element " + i, x[i], y[i], worst);
        if (x[i] == 0f) assertEquals(1f, y[i], "exp(0)");
      }
    }
  }

  @Test
  void unsupportedEncodingIsRefused() {
    RuntimeException e = assertThrows(RuntimeException.class, () -> run(new float[] {0f}, 7));
    assertTrue(e.getMessage().contains("instruction set 7"), e.getMessage());
  }
}
