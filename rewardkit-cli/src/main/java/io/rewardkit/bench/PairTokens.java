package io.rewardkit.bench;

/**
 * One tokenized preference pair as the benchmarks see it. The last token of each response is its
 * readout (the token whose hidden state is scored), as in the training data.
 *
 * @param prompt   prompt token ids (chat template already applied)
 * @param chosen   preferred response token ids, ending with the readout token
 * @param rejected other response token ids, ending with the readout token
 */
public record PairTokens(int[] prompt, int[] chosen, int[] rejected) {
  public PairTokens {
    if (prompt.length == 0 || chosen.length == 0 || rejected.length == 0) {
      throw new IllegalArgumentException("prompt and both responses need at least one token");
    }
  }

  /**
   * This pair as the data pipeline holds it (responses without their readout token), with id {@code pairId};
   * both responses must end with the same readout token.
   */
  public io.rewardkit.data.EncodedPair toEncoded(long pairId) {
    int readout = chosen[chosen.length - 1];
    if (rejected[rejected.length - 1] != readout) {
      throw new IllegalArgumentException("pair " + pairId + ": the responses end with different readout tokens ("
          + readout + ", " + rejected[rejected.length - 1] + ")");
    }
    return new io.rewardkit.data.EncodedPair(prompt, java.util.Arrays.copyOf(chosen, chosen.length - 1),
        java.util.Arrays.copyOf(rejected, rejected.length - 1), readout, 0f, 0, pairId);
  }

  /** Tokens of the two rows a padding trainer builds: (prompt+chosen) + (prompt+rejected). */
  public int rowTokens() { return 2 * prompt.length + chosen.length + rejected.length; }

  /** Tokens of the shared-prefix sequence [prompt | chosen | rejected]. */
  public int sharedTokens() { return prompt.length + chosen.length + rejected.length; }
}
