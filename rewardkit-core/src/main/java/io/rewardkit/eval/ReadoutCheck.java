package io.rewardkit.eval;

import io.rewardkit.RewardKitException;
import io.rewardkit.data.PackedBatch;
import java.util.Arrays;

/**
 * Validates a batch's readout positions before the model reads rewards there. A wrong readout
 * silently trains on the wrong token, so any failure is an error (never a warning): every readout
 * must be the last token of its response (separate layout: the sequence's last token; shared-prefix
 * layout: the last token of its segment), chosen and rejected of a pair must be distinct readouts of
 * the same prompt.
 */
public final class ReadoutCheck {
  private ReadoutCheck() {}

  public static void check(PackedBatch b) {
    int t = b.numTokens();
    int[] cu = b.cuSeqlens();
    if (cu.length < 2 || cu[0] != 0 || cu[cu.length - 1] != t) {
      throw fail(b, "cu_seqlens must run from 0 to the token count " + t + ", got " + Arrays.toString(cu));
    }
    for (int r = 0; r < b.numReadouts(); r++) {
      int idx = b.readout()[r];
      if (idx < 0 || idx >= t) throw fail(b, "readout " + r + " at token " + idx + " is outside [0, " + t + ")");
      int s = sequenceOf(cu, idx);
      int end = cu[s + 1];
      if (b.segmentIds() == null) {
        if (idx != end - 1) throw fail(b, "readout " + r + " at token " + idx + " is not the last token of its sequence (ends at " + (end - 1) + ")");
      } else {
        int seg = b.segmentIds()[idx];
        if (seg == 0) throw fail(b, "readout " + r + " at token " + idx + " lies in the prompt segment");
        if (idx + 1 < end && b.segmentIds()[idx + 1] == seg) {
          throw fail(b, "readout " + r + " at token " + idx + " is not the last token of its response segment");
        }
      }
    }
    for (int p = 0; p < b.numPairs(); p++) {
      int c = b.chosen()[p], j = b.rejected()[p];
      if (c < 0 || c >= b.numReadouts() || j < 0 || j >= b.numReadouts() || c == j) {
        throw fail(b, "pair " + p + " has bad readout indices chosen=" + c + ", rejected=" + j);
      }
      if (b.segmentIds() != null && sequenceOf(cu, b.readout()[c]) != sequenceOf(cu, b.readout()[j])) {
        throw fail(b, "pair " + p + ": chosen and rejected readouts lie in different shared-prefix sequences");
      }
    }
  }

  /** Tokens of the sequence a readout scores (prompt + response; shared prefix: prompt + its own segment). */
  public static int sequenceLength(PackedBatch b, int readoutToken) {
    int[] cu = b.cuSeqlens();
    int s = sequenceOf(cu, readoutToken);
    if (b.segmentIds() == null) return readoutToken - cu[s] + 1;
    int seg = b.segmentIds()[readoutToken], n = 0;
    for (int i = cu[s]; i < cu[s + 1]; i++) if (b.segmentIds()[i] == 0 || b.segmentIds()[i] == seg) n++;
    return n;
  }

  static int sequenceOf(int[] cu, int token) {
    int lo = 0, hi = cu.length - 2;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (cu[mid] <= token) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private static RewardKitException fail(PackedBatch b, String what) {
    String ids = b.pairIds() == null ? "" : " (pairs " + Arrays.toString(Arrays.copyOf(b.pairIds(), Math.min(4, b.pairIds().length)))
        + (b.pairIds().length > 4 ? "..." : "") + ")";
    return new RewardKitException("readout position check failed" + ids + ": " + what);
  }
}
