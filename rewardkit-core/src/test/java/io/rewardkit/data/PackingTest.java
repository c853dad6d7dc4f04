package io.rewardkit.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.RewardKitException;
import io.rewardkit.data.DataOptions.Layout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** First-fit-decreasing under a token budget, both packed layouts, determinism per (seed, epoch). */
class PackingTest {

  private static EncodedDataset synthetic(int n, long seed, DataOptions o) {
    Random r = new Random(seed);
    List<PreferenceRecord> recs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      recs.add(PreferenceRecord.text("q" + i + ":" + "p".repeat(1 + r.nextInt(300)), "c".repeat(1 + r.nextInt(120)),
          "r".repeat(1 + r.nextInt(120)), i % 3, "syn:" + i));
    }
    return EncodedDataset.fromRecords(recs, new ByteTokenizer(), o);
  }

  private static DataOptions opts(int budget, Layout layout) {
    return DataOptions.defaults().withMaxLength(budget / 2).withMaxTokensPerBatch(budget).withLayout(layout);
  }

  @Test
  void planRespectsBudgetAndPlacesEveryPairExactlyOnce() {
    Random r = new Random(7);
    int[] sizes = new int[997];
    for (int i = 0; i < sizes.length; i++) sizes[i] = 1 + r.nextInt(900);
    int[][] plan = Packer.plan(sizes, 1000, 3, 0);
    int[] seen = new int[sizes.length];
    long total = 0;
    for (int[] bin : plan) {
      int sum = 0;
      for (int p : bin) { sum += sizes[p]; seen[p]++; }
      assertTrue(sum <= 1000, "bin over budget: " + sum);
      assertTrue(bin.length > 0);
      total += sum;
    }
    for (int c : seen) assertEquals(1, c);
    // FFD is within 11/9 OPT + 1 bins; OPT >= total / budget.
    assertTrue(plan.length <= Math.ceil(11.0 / 9.0 * Math.ceil(total / 1000.0)) + 1, "bins " + plan.length);
  }

  @Test
  void firstFitDecreasingFillsExactlyWhenItCan() {
    // 6,4 / 6,4 / 5,5 fit exactly three bins of 10.
    int[][] plan = Packer.plan(new int[] {4, 6, 5, 4, 5, 6}, 10, 11, 0);
    assertEquals(3, plan.length);
    for (int[] bin : plan) {
      int s = 0;
      for (int p : bin) s += new int[] {4, 6, 5, 4, 5, 6}[p];
      assertEquals(10, s);
    }
    assertThrows(IllegalArgumentException.class, () -> Packer.plan(new int[] {11}, 10, 1, 0));
  }

  @Test
  void planIsDeterministicPerSeedAndEpochAndVariesAcrossThem() {
    int[] sizes = new int[200];
    for (int i = 0; i < sizes.length; i++) sizes[i] = 10 + (i * 37) % 90;
    int[][] a = Packer.plan(sizes, 500, 42, 0);
    assertTrue(Arrays.deepEquals(a, Packer.plan(sizes, 500, 42, 0)));
    assertFalse(Arrays.deepEquals(a, Packer.plan(sizes, 500, 42, 1)));
    assertFalse(Arrays.deepEquals(a, Packer.plan(sizes, 500, 43, 0)));
  }

  @Test
  void separateLayoutBatchesHaveAdjacentChosenRejectedAndAssertedReadouts() {
    EncodedDataset ds = synthetic(300, 1, opts(2048, Layout.SEPARATE));
    List<PackedBatch> batches = ds.batches(0);
    int pairs = 0;
    for (PackedBatch b : batches) {
      assertNull(b.segmentIds());
      assertTrue(b.numTokens() <= 2048);
      assertEquals(2 * b.numPairs(), b.numSequences());
      for (int k = 0; k < b.numPairs(); k++) {
        int p = Math.toIntExact(b.pairIds()[k]);
        EncodedPair e = ds.pair(p);
        int cStart = b.cuSeqlens()[2 * k], rStart = b.cuSeqlens()[2 * k + 1], end = b.cuSeqlens()[2 * k + 2];
        assertEquals(e.prompt().length + e.chosen().length + 1, rStart - cStart);
        assertEquals(e.prompt().length + e.rejected().length + 1, end - rStart);
        assertArrayEquals(e.prompt(), Arrays.copyOfRange(b.tokens(), cStart, cStart + e.prompt().length));
        assertArrayEquals(e.prompt(), Arrays.copyOfRange(b.tokens(), rStart, rStart + e.prompt().length));
        assertEquals(rStart - 1, b.readout()[b.chosen()[k]]);
        assertEquals(end - 1, b.readout()[b.rejected()[k]]);
        assertEquals(ByteTokenizer.EOS, b.tokens()[b.readout()[b.chosen()[k]]]);
        assertEquals(0, b.positions()[rStart]);
        assertEquals(end - rStart - 1, b.positions()[end - 1]);
        assertEquals(ds.margin(p), b.margins()[k]);
      }
      pairs += b.numPairs();
    }
    assertEquals(ds.size(), pairs);
  }

  @Test
  void sharedPrefixLayoutSegmentsAndPositions() {
    EncodedDataset ds = synthetic(120, 2, opts(2048, Layout.SHARED_PREFIX));
    for (PackedBatch b : ds.batches(0)) {
      assertTrue(b.sharedPrefix());
      assertEquals(b.numPairs(), b.numSequences());
      for (int k = 0; k < b.numPairs(); k++) {
        EncodedPair e = ds.pair(Math.toIntExact(b.pairIds()[k]));
        int s = b.cuSeqlens()[k];
        int pl = e.prompt().length, cl = e.chosen().length, rl = e.rejected().length;
        assertEquals(pl + cl + rl + 2, b.cuSeqlens()[k + 1] - s);
        int cr = b.readout()[b.chosen()[k]], rr = b.readout()[b.rejected()[k]];
        assertEquals(s + pl + cl, cr);
        assertEquals(s + pl + cl + 1 + rl, rr);
        assertEquals(0, b.segmentIds()[s + pl - 1]);
        assertEquals(1, b.segmentIds()[cr]);
        assertEquals(2, b.segmentIds()[cr + 1]);
        assertEquals(2, b.segmentIds()[rr]);
        // Rejected positions continue from the prompt, like the chosen ones.
        assertEquals(pl, b.positions()[s + pl]);
        assertEquals(pl, b.positions()[cr + 1]);
        assertEquals(pl + cl, b.positions()[cr]);
        assertEquals(pl + rl, b.positions()[rr]);
      }
    }
    Packer.Stats st = ds.packingStats(0, Layout.SHARED_PREFIX);
    assertTrue(st.sharedPrefixSaving() > 1.0);
    assertEquals(st.realTokens(), st.sharedPrefixTokens());
  }

  @Test
  void batchesAreDeterministicPerEpochAndEfficiencyIsHigh() {
    EncodedDataset a = synthetic(600, 3, opts(4096, Layout.SEPARATE));
    EncodedDataset b = synthetic(600, 3, opts(4096, Layout.SEPARATE));
    List<PackedBatch> e0 = a.batches(0), e0b = b.batches(0), e1 = a.batches(1);
    assertEquals(e0.size(), e0b.size());
    for (int i = 0; i < e0.size(); i++) assertArrayEquals(e0.get(i).tokens(), e0b.get(i).tokens());
    assertFalse(Arrays.equals(e0.get(0).pairIds(), e1.get(0).pairIds()));
    Packer.Stats st = a.packingStats(0, Layout.SEPARATE);
    assertTrue(st.efficiency() > 0.95, "eta " + st.efficiency());
    int i = 0;
    for (PackedBatch lazy : a.lazyBatches(1)) assertArrayEquals(e1.get(i++).tokens(), lazy.tokens());
    assertEquals(a.numBatches(1), i);
  }

  @Test
  void requireReadoutTokenCatchesAWrongToken() {
    PackedBatch b = synthetic(5, 4, opts(2048, Layout.SEPARATE)).batches(0).get(0);
    assertThrows(RewardKitException.class, () -> b.requireReadoutToken(ByteTokenizer.REWARD));
    b.tokens()[b.readout()[0]] = 'x';
    assertThrows(RewardKitException.class, () -> b.requireReadoutToken(ByteTokenizer.EOS));
  }

  @Test
  void evalSplitIsSeededAndDisjoint() {
    EncodedDataset ds = synthetic(100, 5, opts(2048, Layout.SEPARATE));
    EncodedDataset.Split s = ds.split(0.1);
    assertEquals(10, s.eval().size());
    assertEquals(90, s.train().size());
    java.util.Set<Long> ids = new java.util.HashSet<>();
    for (int i = 0; i < 90; i++) ids.add(s.train().pairId(i));
    for (int i = 0; i < 10; i++) assertTrue(ids.add(s.eval().pairId(i)));
    assertArrayEquals(ds.pair(Math.toIntExact(s.eval().pairId(0))).chosen(), s.eval().pair(0).chosen());
    EncodedDataset.Split again = ds.split(0.1);
    assertEquals(s.eval().pairId(3), again.eval().pairId(3));
    assertEquals(ds.size(), ds.split(0).train().size());
  }
}
