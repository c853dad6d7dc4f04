package io.rewardkit.bench;

import io.rewardkit.data.PackedBatch;

/**
 * Model FLOPs of a training step, for MFU.
 *
 * <p>MFU = model FLOPs per second / the device's dense peak, where the model FLOPs of a micro-batch are
 * <pre>
 *   6 · N_non-embedding · realTokens  +  12 · L · Hq · hd · Σ_seq visiblePairs(seq)
 * </pre>
 * <ul>
 *   <li>6·N per token: every weight is used in one multiply-add (2 FLOPs) forward and two backward
 *       (input and weight gradient). The embedding is a gather, not a matmul, so it is left out.
 *   <li>Attention: per layer, a query·key pair costs 2·hd FLOPs for QKᵀ and 2·hd for P·V per head forward,
 *       twice that backward: 12·Hq·hd per visible pair. {@code visiblePairs} counts only what each
 *       sequence's own mask allows (causal within its own length, and the shared-prefix rule), so padding
 *       and cross-sequence work never count as useful. A plain causal sequence of length n has n(n+1)/2.
 * </ul>
 * Real tokens are the packed token slots that hold data (no padding exists in the packed layout).
 * The peak is bf16 dense tensor throughput on a GPU ({@link DevicePeaks}); on CPU it is the FP32 sgemm
 * rate measured in the same run, so "MFU" there reads as "fraction of BLAS speed".
 */
public final class FlopModel {
  private FlopModel() {}

  /** Number of (query, key) pairs the attention mask lets through in this batch. */
  public static long visiblePairs(PackedBatch b) {
    long total = 0;
    int[] cu = b.cuSeqlens(), seg = b.segmentIds();
    for (int s = 0; s + 1 < cu.length; s++) {
      int start = cu[s], end = cu[s + 1];
      if (seg == null) {
        long n = end - start;
        total += n * (n + 1) / 2;
      } else {
        // A query in segment a sees earlier-or-same keys of segment 0 and of segment a.
        long[] seen = new long[8];
        for (int t = start; t < end; t++) {
          int a = seg[t];
          if (a < 0) throw new IllegalArgumentException("negative segment id at token " + t);
          if (a >= seen.length) seen = java.util.Arrays.copyOf(seen, a + 8);
          seen[a]++;
          total += seen[0] + (a == 0 ? 0 : seen[a]);
        }
      }
    }
    return total;
  }

  /** Training FLOPs (forward + backward) of one micro-batch. */
  public static double trainingFlops(ModelShape m, PackedBatch b) {
    return 6.0 * m.nonEmbeddingParameters() * b.numTokens() + attentionTrainingFlops(m, visiblePairs(b));
  }

  public static double attentionTrainingFlops(ModelShape m, long visiblePairs) {
    return 12.0 * m.numLayers() * m.numHeads() * m.headDim() * visiblePairs;
  }

  /** Forward-only attention FLOPs for the op benchmarks: 4·hd·Hq per visible pair (one layer). */
  public static double attentionForwardFlops(int heads, int headDim, long visiblePairs) {
    return 4.0 * heads * headDim * visiblePairs;
  }

  /** Attention backward FLOPs (one layer): 2× forward (dV, dP, dQ, dK: four matmuls vs two), as in 12·Hq·hd above. */
  public static double attentionBackwardFlops(int heads, int headDim, long visiblePairs) {
    return 8.0 * heads * headDim * visiblePairs;
  }
}
