package io.rewardkit.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class NiceTicksTest {

  @Test void stepsAreOneTwoFiveTimesAPowerOfTen() {
    assertStep(new BigDecimal("0.01"), NiceTicks.step(0.6567, 0.7, 6));
    assertStep(new BigDecimal("0.1"), NiceTicks.step(0, 0.6, 6));
    assertStep(new BigDecimal("0.2"), NiceTicks.step(0, 1.1, 6));
    assertStep(new BigDecimal("100"), NiceTicks.step(0, 649, 8));
    assertStep(new BigDecimal("5E+1"), NiceTicks.step(0, 300, 8));
    assertStep(new BigDecimal("0.0005"), NiceTicks.step(0, 0.003, 6));
    assertStep(BigDecimal.ONE, NiceTicks.integerStep(0, 3.2, 6));  // counts: never half a pair
    SplittableRandom rng = new SplittableRandom(3);
    for (int i = 0; i < 2000; i++) {
      double lo = (rng.nextDouble() - 0.5) * Math.pow(10, rng.nextInt(-6, 7));
      double hi = lo + rng.nextDouble() * Math.pow(10, rng.nextInt(-6, 7)) + 1e-9;
      int n = rng.nextInt(2, 12);
      BigDecimal s = NiceTicks.step(lo, hi, n);
      BigDecimal mantissa = s.movePointLeft(s.precision() - s.scale() - 1).stripTrailingZeros();
      assertTrue(mantissa.compareTo(BigDecimal.ONE) == 0 || mantissa.compareTo(BigDecimal.valueOf(2)) == 0
          || mantissa.compareTo(BigDecimal.valueOf(5)) == 0, s + " for [" + lo + ", " + hi + "]");
      assertTrue((hi - lo) / s.doubleValue() <= n * (1 + 1e-9), "at most " + n + " intervals: " + s);
      // the next smaller 1-2-5 step would need more than n intervals
      double smaller = s.doubleValue() / (mantissa.intValue() == 2 ? 2 : mantissa.intValue() == 5 ? 2.5 : 2);
      assertTrue((hi - lo) / smaller > n * (1 - 1e-9), "smallest: " + s + " for [" + lo + ", " + hi + "] n=" + n);
    }
  }

  static void assertStep(BigDecimal expected, BigDecimal actual) {
    assertEquals(0, expected.compareTo(actual), "step " + actual + ", expected " + expected);
  }

  @Test void ticksAreExactMultiplesWithExactLabels() {
    BigDecimal s = NiceTicks.step(0.6567, 0.7, 6);
    assertArrayEquals(new double[] {0.66, 0.67, 0.68, 0.69, 0.7}, NiceTicks.ticks(0.6567, 0.7, s), 0);
    assertEquals("0.66", NiceTicks.label(0.66, s));  // a tick at 0.66, not a rounded 0.6567
    assertEquals("0.70", NiceTicks.label(0.7, s));
    assertEquals(2, NiceTicks.decimals(s));
    assertEquals(0, NiceTicks.decimals(new BigDecimal("5E+1")));
    assertEquals("0.0030", NiceTicks.label(0.003, new BigDecimal("0.0005")));
    assertEquals("0.0", new Charts.ExactFormat(new BigDecimal("0.2")).format(-1e-17));
    assertArrayEquals(new double[] {-0.2, 0, 0.2}, NiceTicks.ticks(-0.25, 0.25, new BigDecimal("0.2")), 0);
  }
}
