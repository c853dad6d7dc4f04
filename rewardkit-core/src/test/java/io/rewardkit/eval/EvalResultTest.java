package io.rewardkit.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class EvalResultTest {

  /** Buckets by the longer sequence of a pair; the length-only baseline per bucket counts ties as 1/2. */
  @Test void lengthBucketsWithTheirBaseline() {
    // pair:           0      1      2      3      4
    // longer seq:     40     120    300    95     64
    // model right:    yes    no     yes    yes    no
    // chosen longer:  yes    no     yes    tie    no
    EvalResult r = new EvalResult(0.5, new float[] {1, 2, 0.5f, 3, 0}, new float[] {0, 3, 0, 1, 1},
        new int[] {40, 100, 300, 95, 10}, new int[] {30, 120, 200, 95, 64}, new int[5], new long[] {0, 1, 2, 3, 4}, List.of("d"));
    List<EvalResult.LengthBucket> b = r.lengthBuckets();
    assertEquals(List.of(new EvalResult.LengthBucket("1-64", 2, 0.5, 0.5), new EvalResult.LengthBucket("65-128", 2, 0.5, 0.25),
        new EvalResult.LengthBucket("257-512", 1, 1.0, 1.0)), b);
    assertEquals((1 + 0 + 1 + 0.5 + 0) / 5, r.lengthBaselineAccuracy(), 1e-15);
  }
}
