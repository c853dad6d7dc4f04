package io.rewardkit.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.rewardkit.data.PackedBatch;
import java.util.List;
import org.junit.jupiter.api.Test;

class FlopModelTest {

  /** Counts mask entries one by one with the VarlenLayout rule. */
  private static long bruteForce(PackedBatch b) {
    long n = 0;
    int[] cu = b.cuSeqlens(), seg = b.segmentIds();
    for (int s = 0; s + 1 < cu.length; s++) {
      for (int q = cu[s]; q < cu[s + 1]; q++) {
        for (int k = cu[s]; k <= q; k++) {
          if (seg == null || seg[k] == 0 || seg[k] == seg[q]) n++;
        }
      }
    }
    return n;
  }

  @Test
  void visiblePairsMatchTheMask() {
    List<PairTokens> pairs = SyntheticPairs.generate(LengthProfile.HH_RLHF, 6, 50, 400, 11);
    for (boolean shared : new boolean[] {true, false}) {
      PackedBatch b = OneBatch.of(pairs, shared);
      assertEquals(bruteForce(b), FlopModel.visiblePairs(b), shared ? "shared" : "separate");
    }
  }

  @Test
  void closedFormForOneSharedPrefixPair() {
    int p = 7, c = 4, r = 5;
    PackedBatch b = OneBatch.of(List.of(new PairTokens(new int[p], new int[c], new int[r])), true);
    long expected = p * (p + 1) / 2 + (long) c * p + c * (c + 1) / 2 + (long) r * p + r * (r + 1) / 2;
    assertEquals(expected, FlopModel.visiblePairs(b));
  }

  @Test
  void trainingFlopsIsSixNPlusTheAttentionTerm() {
    ModelShape m = ModelShape.QWEN25_05B.withLayers(2);
    PackedBatch b = OneBatch.of(List.of(new PairTokens(new int[10], new int[5], new int[5])), false);
    long visible = 2 * (15L * 16 / 2);
    double expected = 6.0 * m.nonEmbeddingParameters() * 30 + 12.0 * 2 * 14 * 64 * visible;
    assertEquals(expected, FlopModel.trainingFlops(m, b), expected * 1e-12);
  }
}
