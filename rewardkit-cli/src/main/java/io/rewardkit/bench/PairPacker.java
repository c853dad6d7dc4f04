package io.rewardkit.bench;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.data.Packer;
import java.util.ArrayList;
import java.util.List;

/**
 * Packs one optimizer step's tokenized pairs into {@link PackedBatch}es of at most {@code tokenBudget}
 * tokens. The bins come from the data pipeline's packer ({@link Packer#plan}: seeded shuffle, first-fit
 * decreasing), so packing efficiency is the trainer's; this class only lays out the batches, because the
 * benchmark's synthetic pairs are token ids, not records for the data pipeline.
 */
public final class PairPacker {
  private PairPacker() {}

  /** Token slots a pair occupies in the given layout. */
  public static int tokensOf(PairTokens p, boolean sharedPrefix) {
    return sharedPrefix ? p.sharedTokens() : p.rowTokens();
  }

  /**
   * The pairs in micro-batches of at most {@code tokenBudget} tokens; pair {@code i} gets id
   * {@code firstPairId + i}. {@code seed} seeds the packer's shuffle.
   */
  public static List<PackedBatch> pack(List<PairTokens> pairs, int tokenBudget, boolean sharedPrefix, long firstPairId, long seed) {
    int[] sizes = new int[pairs.size()];
    for (int i = 0; i < sizes.length; i++) {
      sizes[i] = tokensOf(pairs.get(i), sharedPrefix);
      if (sizes[i] > tokenBudget) {
        throw new IllegalArgumentException("pair " + (firstPairId + i) + " needs " + sizes[i] + " tokens, more than the token budget "
            + tokenBudget + " (raise --max_tokens_per_batch or lower --max_length)");
      }
    }
    List<PackedBatch> out = new ArrayList<>();
    for (int[] bin : Packer.plan(sizes, tokenBudget, seed, 0)) {
      List<PairTokens> members = new ArrayList<>(bin.length);
      long[] ids = new long[bin.length];
      for (int k = 0; k < bin.length; k++) {
        members.add(pairs.get(bin[k]));
        ids[k] = firstPairId + bin[k];
      }
      out.add(batch(members, sharedPrefix, ids));
    }
    return out;
  }

  /** One micro-batch holding exactly these pairs, with consecutive ids from {@code firstPairId}. */
  public static PackedBatch batch(List<PairTokens> pairs, boolean sharedPrefix, long firstPairId) {
    long[] ids = new long[pairs.size()];
    for (int i = 0; i < ids.length; i++) ids[i] = firstPairId + i;
    return batch(pairs, sharedPrefix, ids);
  }

  /** One micro-batch holding exactly these pairs, in order, with the given pair ids. */
  public static PackedBatch batch(List<PairTokens> pairs, boolean sharedPrefix, long[] ids) {
    int n = pairs.size(), total = 0;
    for (PairTokens p : pairs) total += tokensOf(p, sharedPrefix);
    int seqs = sharedPrefix ? n : 2 * n;
    int[] tokens = new int[total], positions = new int[total], cu = new int[seqs + 1];
    int[] segments = sharedPrefix ? new int[total] : null;
    int[] readout = new int[2 * n], chosen = new int[n], rejected = new int[n];
    if (ids.length != n) throw new IllegalArgumentException(ids.length + " ids for " + n + " pairs");
    int at = 0, seq = 0, maxLen = 0;
    for (int i = 0; i < n; i++) {
      PairTokens p = pairs.get(i);
      chosen[i] = 2 * i;
      rejected[i] = 2 * i + 1;
      if (sharedPrefix) {
        int start = at;
        at = put(tokens, positions, segments, at, p.prompt(), 0, 0);
        at = put(tokens, positions, segments, at, p.chosen(), p.prompt().length, 1);
        readout[2 * i] = at - 1;
        at = put(tokens, positions, segments, at, p.rejected(), p.prompt().length, 2);
        readout[2 * i + 1] = at - 1;
        cu[++seq] = at;
        maxLen = Math.max(maxLen, at - start);
      } else {
        for (int r = 0; r < 2; r++) {
          int start = at;
          at = put(tokens, positions, null, at, p.prompt(), 0, 0);
          at = put(tokens, positions, null, at, r == 0 ? p.chosen() : p.rejected(), p.prompt().length, 0);
          readout[2 * i + r] = at - 1;
          cu[++seq] = at;
          maxLen = Math.max(maxLen, at - start);
        }
      }
    }
    return new PackedBatch(tokens, positions, cu, segments, maxLen, readout, chosen, rejected, new float[n], ids, new int[n]);
  }

  private static int put(int[] tokens, int[] positions, int[] segments, int at, int[] src, int firstPos, int segment) {
    for (int j = 0; j < src.length; j++) {
      tokens[at] = src[j];
      positions[at] = firstPos + j;
      if (segments != null) segments[at] = segment;
      at++;
    }
    return at;
  }
}
