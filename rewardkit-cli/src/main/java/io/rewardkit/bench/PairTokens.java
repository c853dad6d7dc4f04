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

  /** Tokens of the two rows a padding trainer builds: (prompt+chosen) + (prompt+rejected). */
  public int rowTokens() { return 2 * prompt.length + chosen.length + rejected.length; }

  /** Tokens of the shared-prefix sequence [prompt | chosen | rejected]. */
  public int sharedTokens() { return prompt.length + chosen.length + rejected.length; }
}
