package io.rewardkit.report;

import java.math.BigDecimal;

/**
 * Axis ticks at round values: the step is 1, 2 or 5 times a power of ten, ticks are the step's
 * multiples inside the range, and labels print those multiples exactly (no "0.66" for 0.6567).
 */
public final class NiceTicks {
  private NiceTicks() {}

  /** The smallest {1, 2, 5}·10^k step that splits [lo, hi] into at most maxIntervals intervals. */
  public static BigDecimal step(double lo, double hi, int maxIntervals) {
    if (!(hi > lo) || maxIntervals < 1) throw new IllegalArgumentException("empty range [" + lo + ", " + hi + "]");
    double raw = (hi - lo) / maxIntervals;
    int exp = (int) Math.floor(Math.log10(raw));
    for (int e = exp; ; e++) {
      for (int m : new int[] {1, 2, 5}) {
        BigDecimal s = BigDecimal.valueOf(m).scaleByPowerOfTen(e);
        // a relative tolerance: (hi - lo) / n may land a hair above a round value
        if (s.doubleValue() >= raw * (1 - 1e-9)) return s;
      }
    }
  }

  /** Like {@link #step} but never below 1 (counts, steps). */
  public static BigDecimal integerStep(double lo, double hi, int maxIntervals) {
    BigDecimal s = step(lo, hi, maxIntervals);
    return s.compareTo(BigDecimal.ONE) < 0 ? BigDecimal.ONE : s;
  }

  /** Decimal places needed to print every multiple of step exactly. */
  public static int decimals(BigDecimal step) {
    return Math.max(0, step.stripTrailingZeros().scale());
  }

  /** The multiples of step in [lo, hi]. */
  public static double[] ticks(double lo, double hi, BigDecimal step) {
    double s = step.doubleValue();
    long first = (long) Math.ceil(lo / s - 1e-9), last = (long) Math.floor(hi / s + 1e-9);
    double[] t = new double[(int) Math.max(0, last - first + 1)];
    for (int i = 0; i < t.length; i++) t[i] = step.multiply(BigDecimal.valueOf(first + i)).doubleValue();
    return t;
  }

  /** A tick label: the value with exactly {@link #decimals} places. */
  public static String label(double value, BigDecimal step) {
    return BigDecimal.valueOf(value).setScale(decimals(step), java.math.RoundingMode.HALF_EVEN).toPlainString();
  }
}
