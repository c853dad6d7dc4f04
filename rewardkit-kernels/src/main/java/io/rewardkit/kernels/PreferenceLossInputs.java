package io.rewardkit.kernels;

/**
 * The tensors of one {@link Backend#preferenceLoss} call (S responses, P pairs, K KL sequences). Log-prob tensors
 * are F32 (F64 on the CPU for gradient checks), index tensors I32; null where the loss does not use them.
 *
 * @param logps Σ policy log-probs of each response's tokens [S]
 * @param refLogps the reference's [S] (dpo, ipo, kto)
 * @param lengths response tokens per response [S]
 * @param promptLogps Σ policy log-probs of each response's prompt tokens after the first [S] (orpo)
 * @param promptLengths their count [S] (orpo)
 * @param chosen pair p's chosen response [P] (paired losses)
 * @param rejected pair p's rejected response [P] (paired losses)
 * @param labels 1 desirable, 0 undesirable [S] (kto)
 * @param klLogps policy Σ log-probs of the KL (mismatched) sequences [K] (kto, optional)
 * @param refKlLogps the reference's [K]
 * @param dLogps gradient out [S] (overwritten), or null for forward only
 * @param dPromptLogps gradient out [S] for promptLogps (orpo), or null
 */
public record PreferenceLossInputs(Tensor logps, Tensor refLogps, Tensor lengths, Tensor promptLogps,
    Tensor promptLengths, Tensor chosen, Tensor rejected, Tensor labels, Tensor klLogps, Tensor refKlLogps,
    Tensor dLogps, Tensor dPromptLogps) {

  /** Shapes and index dtypes, checked once for every backend. */
  public void check(String op) {
    long s = logps.numel(), p = chosen == null ? 0 : chosen.numel(), k = klLogps == null ? 0 : klLogps.numel();
    Shapes.require(op, lengths.numel() == s && lengths.dtype() == DType.I32 && sized(refLogps, s) && sized(promptLogps, s)
        && sized(promptLengths, s) && (rejected == null ? chosen == null : rejected.numel() == p) && sized(labels, s)
        && (refKlLogps == null ? k == 0 : refKlLogps.numel() == k) && sized(dLogps, s) && sized(dPromptLogps, s)
        && ints(promptLengths) && ints(chosen) && ints(rejected) && ints(labels),
        "logps " + logps + ", lengths " + lengths + ", chosen " + chosen + ", rejected " + rejected + ", labels " + labels);
  }

  public long numResponses() { return logps.numel(); }
  public long numPairs() { return chosen == null ? 0 : chosen.numel(); }
  public long numKl() { return klLogps == null ? 0 : klLogps.numel(); }

  private static boolean sized(Tensor t, long n) { return t == null || t.numel() == n; }
  private static boolean ints(Tensor t) { return t == null || t.dtype() == DType.I32; }
}
