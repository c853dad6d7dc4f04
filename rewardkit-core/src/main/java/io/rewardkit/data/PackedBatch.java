package io.rewardkit.data;

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

  public int numTokens() { return tokens.length; }
  public int numSequences() { return cuSeqlens.length - 1; }
  public int numPairs() { return chosen.length; }
  public int numReadouts() { return readout.length; }
  public boolean sharedPrefix() { return segmentIds != null; }

  /**
   * Checks the batch's invariants and that every readout index holds {@code readoutToken} (any token when it is -1:
   * the last-token readout, where the readout is the last token of its sequence);
   * throws IllegalStateException naming the first violation. Called once when a batch is built.
   */
  public PackedBatch validate(int readoutToken) {
    int t = tokens.length;
    check(positions.length == t, "positions length %d != tokens %d", positions.length, t);
    check(cuSeqlens.length >= 1 && cuSeqlens[0] == 0 && cuSeqlens[cuSeqlens.length - 1] == t,
        "cu_seqlens must run from 0 to %d", t);
    check(segmentIds == null || segmentIds.length == t, "segment ids length != tokens");
    int longest = 0;
    for (int s = 0; s + 1 < cuSeqlens.length; s++) {
      int a = cuSeqlens[s], b = cuSeqlens[s + 1];
      check(b > a, "sequence %d is empty", s);
      longest = Math.max(longest, b - a);
      check(positions[a] == 0, "sequence %d does not start at position 0", s);
      if (segmentIds == null) {
        for (int i = a + 1; i < b; i++) check(positions[i] == positions[i - 1] + 1, "positions of sequence %d not consecutive at %d", s, i);
      }
    }
    check(longest == maxSeqlen, "maxSeqlen %d != longest sequence %d", maxSeqlen, longest);
    int p = chosen.length;
    check(rejected.length == p && margins.length == p && pairIds.length == p && datasetIds.length == p, "per-pair arrays differ in length");
    for (int k = 0; k < p; k++) {
      check(chosen[k] >= 0 && chosen[k] < readout.length && rejected[k] >= 0 && rejected[k] < readout.length,
          "pair %d readout slot out of range", k);
    }
    for (int r = 0; r < readout.length; r++) {
      int i = readout[r];
      check(i >= 0 && i < t, "readout %d index %d out of range", r, i);
      check(readoutToken < 0 || tokens[i] == readoutToken, "readout %d at index %d holds token %d, expected %d", r, i, tokens[i], readoutToken);
    }
    return this;
  }

  private static void check(boolean ok, String fmt, Object... args) {
    if (!ok) throw new IllegalStateException("PackedBatch: " + String.format(fmt, args));
  }
}
