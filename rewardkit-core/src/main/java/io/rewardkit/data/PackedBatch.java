package io.rewardkit.data;

import io.rewardkit.RewardKitException;
import java.util.Arrays;
import java.util.Locale;

/**
 * One packed micro-batch of preference pairs, ready for the kernels (flash-attention varlen form).
 *
 * <p>Sequences are concatenated into {@code T} token slots; sequence {@code s} owns tokens
 * {@code [cuSeqlens[s], cuSeqlens[s+1])}. Two layouts exist:
 * <ul>
 *   <li>separate: each pair is two sequences, chosen then rejected, adjacent; {@code segmentIds} null;
 *   <li>shared prefix: each pair is one sequence {@code [prompt | chosen | rejected]} with
 *       {@code segmentIds} 0 (prompt), 1 (chosen), 2 (rejected); rejected positions continue
 *       from the end of the prompt, so both responses see the same positions as when run alone.
 * </ul>
 * Every scored response has one readout token (the reward token or final EOS); its index into the
 * packed tokens is in {@code readout}. Pair {@code p} compares {@code readout[chosen[p]]} with
 * {@code readout[rejected[p]]}.
 *
 * @param tokens     [T] token ids
 * @param positions  [T] position ids (restart at 0 for each sequence; see layouts above)
 * @param cuSeqlens  [S + 1] cumulative sequence boundaries, cuSeqlens[0] = 0, cuSeqlens[S] = T
 * @param segmentIds [T] segment of each token (shared-prefix layout) or null (separate layout)
 * @param maxSeqlen  longest sequence in the batch
 * @param readout    [R] index into tokens of each response's readout token
 * @param chosen     [P] index into readout of pair p's chosen response
 * @param rejected   [P] index into readout of pair p's rejected response
 * @param margins    [P] per-pair margin m (0 when the data has none)
 * @param pairIds    [P] stable id of each pair (its ordinal in the dataset)
 * @param datasetIds [P] which input dataset each pair came from (for per-dataset metrics)
 */
public record PackedBatch(
    int[] tokens,
    int[] positions,
    int[] cuSeqlens,
    int[] segmentIds,
    int maxSeqlen,
    int[] readout,
    int[] chosen,
    int[] rejected,
    float[] margins,
    long[] pairIds,
    int[] datasetIds) {

  /**
   * The one structural check of a batch, run whenever one is built (packer, inference, tests): array
   * lengths, sequence boundaries, positions, segments, and that every readout is the last token of its
   * response (separate layout: of its sequence; shared prefix: of its chosen/rejected segment) and the
   * two readouts of a pair are distinct and (shared prefix) in the same sequence. A wrong readout would
   * silently train on the wrong token, so a violation is an error naming the first one, never a warning.
   * Consumers (model, trainer, evaluator, scorer) rely on this and do not check again.
   */
  public PackedBatch {
    check(tokens != null && positions != null && cuSeqlens != null && readout != null && chosen != null && rejected != null
        && margins != null && pairIds != null && datasetIds != null, pairIds, "an array other than segmentIds is null");
    int t = tokens.length;
    check(positions.length == t, pairIds, "positions has %d entries, tokens %d", positions.length, t);
    check(cuSeqlens.length >= 1 && cuSeqlens[0] == 0 && cuSeqlens[cuSeqlens.length - 1] == t, pairIds,
        "cu_seqlens must run from 0 to the token count %d, got %s", t, Arrays.toString(cuSeqlens));
    check(segmentIds == null || segmentIds.length == t, pairIds, "segmentIds has %d entries, tokens %d",
        segmentIds == null ? 0 : segmentIds.length, t);
    int longest = 0;
    for (int s = 0; s + 1 < cuSeqlens.length; s++) {
      int a = cuSeqlens[s], b = cuSeqlens[s + 1];
      check(b > a, pairIds, "sequence %d is empty (cu_seqlens not increasing)", s);
      longest = Math.max(longest, b - a);
      check(positions[a] == 0, pairIds, "sequence %d does not start at position 0", s);
      for (int i = a + 1; i < b; i++) {
        check(positions[i] >= 0, pairIds, "negative position %d at token %d", positions[i], i);
        if (segmentIds == null) check(positions[i] == positions[i - 1] + 1, pairIds, "positions of sequence %d not consecutive at token %d", s, i);
      }
    }
    check(longest == maxSeqlen, pairIds, "maxSeqlen %d != longest sequence %d", maxSeqlen, longest);
    if (segmentIds != null) {
      for (int i = 0; i < t; i++) check(segmentIds[i] >= 0 && segmentIds[i] <= 2, pairIds, "segment id %d at token %d is not 0, 1 or 2", segmentIds[i], i);
    }
    for (int r = 0; r < readout.length; r++) {
      int idx = readout[r];
      check(idx >= 0 && idx < t, pairIds, "readout %d at token %d is outside [0, %d)", r, idx, t);
      int end = cuSeqlens[sequenceOf(cuSeqlens, idx) + 1];
      if (segmentIds == null) {
        check(idx == end - 1, pairIds, "readout %d at token %d is not the last token of its sequence (ends at %d)", r, idx, end - 1);
      } else {
        int seg = segmentIds[idx];
        check(seg != 0, pairIds, "readout %d at token %d lies in the prompt segment", r, idx);
        check(idx + 1 == end || segmentIds[idx + 1] != seg, pairIds, "readout %d at token %d is not the last token of its response segment", r, idx);
      }
    }
    int p = chosen.length;
    check(rejected.length == p && margins.length == p && pairIds.length == p && datasetIds.length == p, pairIds,
        "per-pair arrays differ in length (chosen %d, rejected %d, margins %d, pairIds %d, datasetIds %d)",
        p, rejected.length, margins.length, pairIds.length, datasetIds.length);
    for (int k = 0; k < p; k++) {
      int c = chosen[k], j = rejected[k];
      check(c >= 0 && c < readout.length && j >= 0 && j < readout.length && c != j, pairIds,
          "pair %d has bad readout indices chosen=%d, rejected=%d (%d readouts)", k, c, j, readout.length);
      check(segmentIds == null || sequenceOf(cuSeqlens, readout[c]) == sequenceOf(cuSeqlens, readout[j]), pairIds,
          "pair %d: chosen and rejected readouts lie in different shared-prefix sequences", k);
    }
  }

  public int numTokens() { return tokens.length; }
  public int numSequences() { return cuSeqlens.length - 1; }
  public int numPairs() { return chosen.length; }
  public int numReadouts() { return readout.length; }
  public boolean sharedPrefix() { return segmentIds != null; }

  /**
   * Checks that every readout index holds {@code readoutToken} (any token when it is -1: the
   * last-token readout); throws naming the first that does not. The packer calls it once per batch.
   */
  public PackedBatch requireReadoutToken(int readoutToken) {
    for (int r = 0; r < readout.length; r++) {
      int i = readout[r];
      check(readoutToken < 0 || tokens[i] == readoutToken, pairIds, "readout %d at token %d holds token %d, expected %d",
          r, i, tokens[i], readoutToken);
    }
    return this;
  }

  /** Tokens the readout at packed index {@code readoutIndex} scores (prompt + response; shared prefix: prompt + its own segment). */
  public int scoredLength(int readoutIndex) {
    int s = sequenceOf(cuSeqlens, readoutIndex);
    if (segmentIds == null) return readoutIndex - cuSeqlens[s] + 1;
    int seg = segmentIds[readoutIndex], n = 0;
    for (int i = cuSeqlens[s]; i < cuSeqlens[s + 1]; i++) if (segmentIds[i] == 0 || segmentIds[i] == seg) n++;
    return n;
  }

  /** The sequence holding packed token {@code token} (binary search over cu_seqlens). */
  private static int sequenceOf(int[] cu, int token) {
    int lo = 0, hi = cu.length - 2;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (cu[mid] <= token) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private static void check(boolean ok, long[] pairIds, String fmt, Object... args) {
    if (ok) return;
    String ids = pairIds == null || pairIds.length == 0 ? ""
        : " (pairs " + Arrays.toString(Arrays.copyOf(pairIds, Math.min(4, pairIds.length))) + (pairIds.length > 4 ? "..." : "") + ")";
    throw new RewardKitException("malformed packed batch" + ids + ": " + String.format(Locale.ROOT, fmt, args));
  }
}
