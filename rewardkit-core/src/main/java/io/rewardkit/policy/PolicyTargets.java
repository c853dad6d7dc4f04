package io.rewardkit.policy;

import io.rewardkit.data.PackedBatch;

/**
 * Which hidden row predicts which token, for the log-probs a policy loss needs from a packed batch (the same
 * batches the reward model trains on, either layout). Response {@code s} (= readout slot s: pair p's chosen is
 * {@code batch.chosen()[p]}, its rejected {@code batch.rejected()[p]}) is its response tokens followed by the
 * appended readout token (the EOS), as TRL appends EOS to completions; token {@code i} of a sequence is predicted
 * by the hidden state of the token before it in that sequence:
 * <ul>
 *   <li>separate layout: row {@code i - 1};
 *   <li>shared prefix {@code [prompt | chosen | rejected]}: the same, except the first rejected token, which is
 *       predicted by the last prompt token (rejected attends to the prompt, not to chosen), so that row predicts
 *       two targets.
 * </ul>
 * Prompt entries (tokens 1.. of each prompt, predicted by the prompt token before; ORPO's NLL covers them) are
 * listed once per pair, for its chosen response. A row may therefore appear twice in {@link #rows}; the policy
 * head gathers rows before the fused op and scatter-adds their gradients back.
 *
 * @param rows          [N] hidden row of each entry
 * @param targets       [N] the token it predicts
 * @param owner         [N] response s of a response entry, or {@code -1 - s} for a prompt entry of response s
 * @param lengths       [S] response entries per response (its tokens + the EOS)
 * @param promptLengths [S] prompt entries per response (chosen: prompt length - 1; rejected: 0)
 */
public record PolicyTargets(int[] rows, int[] targets, int[] owner, int[] lengths, int[] promptLengths) {

  public int numEntries() { return rows.length; }

  public int numResponses() { return lengths.length; }

  /**
   * The entries of a packed batch whose pair k has a prompt of {@code promptLengths[k]} tokens (the batch's bin, in
   * order: {@code EncodedDataset.promptLength} of {@code plan(epoch)[i][k]}). The batch's readout token must be
   * appended (not the last-token readout).
   */
  public static PolicyTargets of(PackedBatch b, int[] pairPromptLengths) {
    int s = b.numReadouts(), pairs = b.numPairs();
    if (pairPromptLengths.length != pairs) {
      throw new IllegalArgumentException(pairs + " pairs but " + pairPromptLengths.length + " prompt lengths");
    }
    int[] first = new int[s];      // first response token of response r
    int[] predictor = new int[s];  // the row predicting it (the last prompt token)
    int[] promptFrom = new int[s], promptTo = new int[s];  // prompt tokens [from, to) listed for r (chosen only)
    boolean[] seen = new boolean[s];
    for (int k = 0; k < pairs; k++) {
      int pl = pairPromptLengths[k];
      if (pl < 1) throw new IllegalArgumentException("pair " + k + " has an empty prompt: its first response token has no predictor");
      int c = b.chosen()[k], r = b.rejected()[k];
      if (seen[c] || seen[r]) throw new IllegalArgumentException("pair " + k + " shares a response with another pair");
      seen[c] = seen[r] = true;
      int cStart = seqStart(b, b.readout()[c]);
      promptFrom[c] = cStart + 1;
      promptTo[c] = cStart + pl;
      first[c] = cStart + pl;
      predictor[c] = cStart + pl - 1;
      if (b.sharedPrefix()) {  // [prompt | chosen | rejected]: rejected starts after chosen's readout
        first[r] = b.readout()[c] + 1;
        predictor[r] = cStart + pl - 1;
      } else {
        int rStart = seqStart(b, b.readout()[r]);
        first[r] = rStart + pl;
        predictor[r] = rStart + pl - 1;
      }
      promptFrom[r] = promptTo[r] = 0;
    }
    int n = 0;
    for (int r = 0; r < s; r++) n += b.readout()[r] - first[r] + 1 + promptTo[r] - promptFrom[r];
    int[] rows = new int[n], targets = new int[n], owner = new int[n], lengths = new int[s], promptLengths = new int[s];
    int k = 0;
    for (int r = 0; r < s; r++) {
      for (int i = promptFrom[r]; i < promptTo[r]; i++, k++) {
        rows[k] = i - 1;
        targets[k] = b.tokens()[i];
        owner[k] = -1 - r;
        promptLengths[r]++;
      }
      for (int i = first[r]; i <= b.readout()[r]; i++, k++) {
        rows[k] = i == first[r] ? predictor[r] : i - 1;
        targets[k] = b.tokens()[i];
        owner[k] = r;
        lengths[r]++;
      }
    }
    return new PolicyTargets(rows, targets, owner, lengths, promptLengths);
  }

  private static int seqStart(PackedBatch b, int tokenIndex) {
    int lo = 0, hi = b.numSequences() - 1;  // the sequence q with cuSeqlens[q] <= tokenIndex < cuSeqlens[q + 1]
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (b.cuSeqlens()[mid] <= tokenIndex) lo = mid;
      else hi = mid - 1;
    }
    return b.cuSeqlens()[lo];
  }
}
