package io.rewardkit.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.RewardKitException;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * A batch is checked once, where it is built: every malformed batch below is refused by the
 * constructor with one message naming what is wrong, so no consumer (model, trainer, evaluator)
 * needs to check again.
 */
class PackedBatchTest {
  /** Mutable copies of a batch's arrays, to break one invariant at a time. */
  static final class Parts {
    int[] tokens, positions, cu, seg, readout, chosen, rejected, datasetIds;
    float[] margins;
    long[] pairIds;
    int maxSeqlen;

    PackedBatch build() {
      return new PackedBatch(tokens, positions, cu, seg, maxSeqlen, readout, chosen, rejected, margins, pairIds, datasetIds);
    }
  }

  /** Separate layout: pair 7 as two sequences [5 6 R] (chosen) and [5 6 9 R] (rejected). */
  static Parts separate() {
    Parts p = new Parts();
    p.tokens = new int[] {5, 6, 1, 5, 6, 9, 1};
    p.positions = new int[] {0, 1, 2, 0, 1, 2, 3};
    p.cu = new int[] {0, 3, 7};
    p.maxSeqlen = 4;
    p.readout = new int[] {2, 6};
    p.chosen = new int[] {0};
    p.rejected = new int[] {1};
    p.margins = new float[1];
    p.pairIds = new long[] {7};
    p.datasetIds = new int[1];
    return p;
  }

  /** Shared-prefix layout: [prompt 5 6 | chosen 8 R | rejected 9 9 R], rejected positions continue from the prompt. */
  static Parts shared() {
    Parts p = new Parts();
    p.tokens = new int[] {5, 6, 8, 1, 9, 9, 1};
    p.positions = new int[] {0, 1, 2, 3, 2, 3, 4};
    p.seg = new int[] {0, 0, 1, 1, 2, 2, 2};
    p.cu = new int[] {0, 7};
    p.maxSeqlen = 7;
    p.readout = new int[] {3, 6};
    p.chosen = new int[] {0};
    p.rejected = new int[] {1};
    p.margins = new float[1];
    p.pairIds = new long[] {7};
    p.datasetIds = new int[1];
    return p;
  }

  static void refused(Parts p, Consumer<Parts> breakIt, String expected) {
    breakIt.accept(p);
    RewardKitException e = assertThrows(RewardKitException.class, p::build);
    assertTrue(e.getMessage().startsWith("malformed packed batch (pairs [7]): "), e.getMessage());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
    assertTrue(!e.getMessage().contains("Exception"), e.getMessage());
  }

  @Test void wellFormedBatchesAreAccepted() {
    PackedBatch s = separate().build();
    assertEquals(2, s.numSequences());
    assertEquals(3, s.scoredLength(2));
    assertEquals(4, s.scoredLength(6));
    PackedBatch sh = shared().build();
    assertEquals(4, sh.scoredLength(3));   // prompt + chosen
    assertEquals(5, sh.scoredLength(6));   // prompt + rejected
  }

  @Test void lengthsAndBoundaries() {
    refused(separate(), p -> p.positions = new int[] {0, 1, 2, 0, 1, 2}, "positions has 6 entries, tokens 7");
    refused(separate(), p -> p.cu = new int[] {0, 3, 6}, "cu_seqlens must run from 0 to the token count 7");
    refused(separate(), p -> p.cu = new int[] {0, 3, 3, 7}, "sequence 1 is empty");
    refused(separate(), p -> p.maxSeqlen = 7, "maxSeqlen 7 != longest sequence 4");
    refused(shared(), p -> p.seg = new int[] {0, 0, 1, 1, 2, 2}, "segmentIds has 6 entries, tokens 7");
    refused(shared(), p -> p.seg[2] = 3, "segment id 3 at token 2");
    refused(separate(), p -> p.margins = new float[2], "per-pair arrays differ in length");
  }

  @Test void positions() {
    refused(separate(), p -> p.positions[3] = 1, "sequence 1 does not start at position 0");
    refused(separate(), p -> p.positions[5] = 3, "positions of sequence 1 not consecutive at token 5");
    refused(shared(), p -> p.positions[4] = -1, "negative position -1 at token 4");
  }

  @Test void readouts() {
    refused(separate(), p -> p.readout[1] = 7, "readout 1 at token 7 is outside [0, 7)");
    refused(separate(), p -> p.readout[1] = 5, "readout 1 at token 5 is not the last token of its sequence (ends at 6)");
    refused(shared(), p -> p.readout[0] = 1, "readout 0 at token 1 lies in the prompt segment");
    refused(shared(), p -> p.readout[1] = 5, "readout 1 at token 5 is not the last token of its response segment");
    refused(separate(), p -> p.rejected[0] = 0, "pair 0 has bad readout indices chosen=0, rejected=0");
    refused(separate(), p -> p.chosen[0] = 2, "pair 0 has bad readout indices chosen=2");
  }

  @Test void sharedPrefixPairsStayInOneSequence() {
    Parts p = shared();
    // two shared-prefix sequences; pair 0 reads chosen from the first and rejected from the second
    p.tokens = new int[] {5, 8, 1, 9, 1, 5, 8, 1, 9, 1};
    p.positions = new int[] {0, 1, 2, 1, 2, 0, 1, 2, 1, 2};
    p.seg = new int[] {0, 1, 1, 2, 2, 0, 1, 1, 2, 2};
    p.cu = new int[] {0, 5, 10};
    p.maxSeqlen = 5;
    p.readout = new int[] {2, 4, 7, 9};
    p.build();  // well-formed as is (pair 0 = readouts 0 and 1)
    refused(p, q -> q.rejected[0] = 3, "pair 0: chosen and rejected readouts lie in different shared-prefix sequences");
  }

  @Test void theReadoutTokenIsCheckedWhereThePackerKnowsIt() {
    PackedBatch b = separate().build();
    b.requireReadoutToken(1);
    b.requireReadoutToken(-1);
    RewardKitException e = assertThrows(RewardKitException.class, () -> b.requireReadoutToken(2));
    assertTrue(e.getMessage().contains("readout 0 at token 2 holds token 1, expected 2"), e.getMessage());
  }
}
