package io.rewardkit.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.data.PackedBatch;
import java.util.List;
import org.junit.jupiter.api.Test;

class PairPackerTest {

  private static PairTokens pair(int p, int c, int r, int base) {
    int[] pr = new int[p], ch = new int[c], rj = new int[r];
    for (int i = 0; i < p; i++) pr[i] = base + i;
    for (int i = 0; i < c; i++) ch[i] = base + 100 + i;
    for (int i = 0; i < r; i++) rj[i] = base + 200 + i;
    return new PairTokens(pr, ch, rj);
  }

  @Test
  void sharedPrefixLayout() {
    PackedBatch b = PairPacker.batch(List.of(pair(3, 2, 1, 0), pair(1, 1, 2, 1000)), true, 10);
    assertArrayEquals(new int[] {0, 6, 10}, b.cuSeqlens());
    assertArrayEquals(new int[] {0, 1, 2, 100, 101, 200, 1000, 1100, 1200, 1201}, b.tokens());
    assertArrayEquals(new int[] {0, 1, 2, 3, 4, 3, 0, 1, 1, 2}, b.positions());
    assertArrayEquals(new int[] {0, 0, 0, 1, 1, 2, 0, 1, 2, 2}, b.segmentIds());
    assertArrayEquals(new int[] {4, 5, 7, 9}, b.readout());
    assertArrayEquals(new int[] {0, 2}, b.chosen());
    assertArrayEquals(new int[] {1, 3}, b.rejected());
    assertArrayEquals(new long[] {10, 11}, b.pairIds());
    assertEquals(6, b.maxSeqlen());
  }

  @Test
  void separateLayout() {
    PackedBatch b = PairPacker.batch(List.of(pair(2, 1, 3, 0)), false, 0);
    assertNull(b.segmentIds());
    assertArrayEquals(new int[] {0, 3, 8}, b.cuSeqlens());
    assertArrayEquals(new int[] {0, 1, 100, 0, 1, 200, 201, 202}, b.tokens());
    assertArrayEquals(new int[] {0, 1, 2, 0, 1, 2, 3, 4}, b.positions());
    assertArrayEquals(new int[] {2, 7}, b.readout());
    assertEquals(5, b.maxSeqlen());
  }

  @Test
  void packingKeepsEveryPairOnceWithinTheBudget() {
    List<PairTokens> pairs = SyntheticPairs.generate(LengthProfile.HH_RLHF, 64, 1000, 512, 5);
    List<PackedBatch> batches = PairPacker.pack(pairs, 1024, true, 100, 9);
    assertTrue(batches.size() > 1);
    boolean[] seen = new boolean[64];
    int tokens = 0;
    for (PackedBatch b : batches) {
      assertTrue(b.numTokens() <= 1024);
      for (int k = 0; k < b.numPairs(); k++) {
        int i = (int) (b.pairIds()[k] - 100);
        assertTrue(!seen[i], "pair " + i + " packed twice");
        seen[i] = true;
        // The readout of the chosen response is the last chosen token of that very pair.
        PairTokens p = pairs.get(i);
        assertEquals(p.chosen()[p.chosen().length - 1], b.tokens()[b.readout()[b.chosen()[k]]]);
        assertEquals(p.rejected()[p.rejected().length - 1], b.tokens()[b.readout()[b.rejected()[k]]]);
      }
      tokens += b.numTokens();
    }
    for (boolean s : seen) assertTrue(s);
    assertEquals(pairs.stream().mapToInt(PairTokens::sharedTokens).sum(), tokens);
    // First-fit decreasing packs tighter than the lower bound + one bin.
    int lowerBound = (tokens + 1023) / 1024;
    assertTrue(batches.size() <= lowerBound + 1, batches.size() + " bins for " + tokens + " tokens");
  }

  @Test
  void aPairOverTheBudgetIsAnError() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PairPacker.pack(List.of(pair(10, 10, 10, 0)), 39, false, 3, 0));
    assertTrue(e.getMessage().contains("pair 3 needs 40 tokens"), e.getMessage());
  }
}
