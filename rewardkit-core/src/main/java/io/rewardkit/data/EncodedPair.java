package io.rewardkit.data;

/**
 * One tokenized pair. The prompt is stored once: the chosen sequence is
 * {@code prompt ++ chosen ++ [readoutToken]} and the rejected one {@code prompt ++ rejected ++ [readoutToken]},
 * so the prompt tokens are identical for both by construction.
 *
 * @param prompt       prompt tokens (rendered with add_generation_prompt when a chat template is used)
 * @param chosen       preferred response tokens, without the readout token
 * @param rejected     dispreferred response tokens, without the readout token
 * @param readoutToken token appended to both responses; the reward is read there
 * @param margin       preference margin
 * @param datasetId    input dataset index
 * @param pairId       stable ordinal of the pair in its EncodedDataset
 */
public record EncodedPair(int[] prompt, int[] chosen, int[] rejected, int readoutToken, float margin,
    int datasetId, long pairId) {

  /** Length of the longer of the two sequences (prompt + response + readout). */
  public int maxSequenceLength() { return prompt.length + Math.max(chosen.length, rejected.length) + 1; }

  /** Tokens this pair occupies in a packed batch of the given layout. */
  public int packedTokens(DataOptions.Layout layout) {
    return packedTokens(layout, prompt.length, chosen.length, rejected.length);
  }

  static int packedTokens(DataOptions.Layout layout, int p, int c, int r) {
    return layout == DataOptions.Layout.SEPARATE ? 2 * p + c + r + 2 : p + c + r + 2;
  }
}
