package io.rewardkit.kernels;

/**
 * Packed variable-length layout of one batch, as seen by attention (flash-attention's varlen form).
 *
 * <p>Sequence {@code s} owns tokens {@code [cuSeqlens[s], cuSeqlens[s+1])}. Attention is causal
 * inside a sequence and never crosses sequences. With {@code segmentIds} (may be null) a sequence
 * can hold a shared prefix (segment 0) followed by branches (segments 1, 2, ...): a query in
 * segment {@code a} sees a key in segment {@code b} iff the key is not after the query and
 * {@code b == 0 || b == a}. This is the shared-prefix rule {@code [prompt | chosen | rejected]}:
 * rejected tokens see the prompt and themselves, never chosen.
 *
 * @param cuSeqlens  [numSeqs + 1] I32, cumulative sequence starts, cuSeqlens[0] = 0
 * @param segmentIds [totalTokens] I32 or null (null: plain causal)
 * @param numSeqs    number of sequences S
 * @param totalTokens T = cuSeqlens[S]
 * @param maxSeqlen  longest sequence (for kernel grid sizing)
 */
public record VarlenLayout(Tensor cuSeqlens, Tensor segmentIds, int numSeqs, int totalTokens, int maxSeqlen) {
  public VarlenLayout {
    if (cuSeqlens.dtype() != DType.I32 || cuSeqlens.numel() != numSeqs + 1L) {
      throw new IllegalArgumentException("cuSeqlens must be I32[" + (numSeqs + 1) + "], got " + cuSeqlens);
    }
    if (segmentIds != null && (segmentIds.dtype() != DType.I32 || segmentIds.numel() != totalTokens)) {
      throw new IllegalArgumentException("segmentIds must be I32[" + totalTokens + "], got " + segmentIds);
    }
  }

  public boolean hasSegments() { return segmentIds != null; }
}
