package io.rewardkit.bench;

import io.rewardkit.data.PackedBatch;
import java.util.ArrayList;
import java.util.List;

/**
 * Packs tokenized pairs into {@link PackedBatch}es of at most {@code tokenBudget} tokens, in order
 * (the pairs of one optimizer step are fixed; packing only splits them into micro-batches).
 * Used by the benchmarks for synthetic pairs, which have no text to go through the data pipeline.
 */
public final class PairPacker {
  private PairPacker() {}

  /** Token slots a pair occupies in the given layout. */
  public static int tokensOf(PairTokens p, boolean sharedPrefix) {
    return sharedPrefix ? p.sharedTokens() : p.rowTokens();
  }

  /** Splits {@code pairs} into consecutive micro-batches of at most {@code tokenBudget} tokens. */
  public static List<PackedBatch> pack(List<PairTokens> pairs, int tokenBudget, boolean sharedPrefix, long firstPairId) {
    List<PackedBatch> out = new ArrayList<>();
    int start = 0, tokens = 0;
    for (int i = 0; i < pairs.size(); i++) {
      int t = tokensOf(pairs.get(i), sharedPrefix);
      if (t > tokenBudget) {
        throw new IllegalArgumentException("pair " + (firstPairId + i) + " needs " + t + " tokens, more than the token budget "
            + tokenBudget + " (raise --token-budget or lower --max-length)");
      }
      if (tokens + t > tokenBudget) {
        out.add(batch(pairs.subList(start, i), sharedPrefix, firstPairId + start));
        start = i;
        tokens = 0;
      }
      tokens += t;
    }
    if (start < pairs.size()) out.add(batch(pairs.subList(start, pairs.size()), sharedPrefix, firstPairId + start));
    return out;
  }

  /** One micro-batch holding exactly these pairs. */
  public static PackedBatch batch(List<PairTokens> pairs, boolean sharedPrefix, long firstPairId) {
    int n = pairs.size(), total = 0;
    for (PairTokens p : pairs) total += tokensOf(p, sharedPrefix);
    int seqs = sharedPrefix ? n : 2 * n;
    int[] tokens = new int[total], positions = new int[total], cu = new int[seqs + 1];
    int[] segments = sharedPrefix ? new int[total] : null;
    int[] readout = new int[2 * n], chosen = new int[n], rejected = new int[n];
    long[] ids = new long[n];
    int at = 0, seq = 0, maxLen = 0;
    for (int i = 0; i < n; i++) {
      PairTokens p = pairs.get(i);
      ids[i] = firstPairId + i;
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
