package io.rewardkit.data;

import io.rewardkit.data.DataOptions.Layout;
import java.util.Arrays;
import java.util.List;

/**
 * Token-budget bin packing: a seeded shuffle, then first-fit-decreasing (stable, so equal sizes
 * keep their shuffled order), then the bins themselves are shuffled so an epoch does not start with
 * all the long pairs. A pair is never split. First fit uses a max segment tree over remaining
 * capacities: O(n log n), the bin count grows as needed.
 */
public final class Packer {
  private Packer() {}

  /** Bins of pair indices (into sizes) for one epoch; deterministic in (sizes, budget, seed, epoch). */
  public static int[][] plan(int[] sizes, int budget, long seed, int epoch) {
    int n = sizes.length;
    if (n == 0) return new int[0][];
    SplitMix64 rng = new SplitMix64(seed * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L * (epoch + 1L));
    int[] order = new int[n];
    for (int i = 0; i < n; i++) order[i] = i;
    rng.shuffle(order);
    long[] keys = new long[n];
    for (int r = 0; r < n; r++) {
      int s = sizes[order[r]];
      if (s <= 0 || s > budget) throw new IllegalArgumentException("pair " + order[r] + " has size " + s + " outside (0, " + budget + "]");
      keys[r] = ((long) (Integer.MAX_VALUE - s) << 32) | r; // size descending, then shuffled rank
    }
    Arrays.sort(keys);
    // Segment tree of remaining capacity per bin; leaves start full, so "leftmost fitting leaf"
    // opens a new bin exactly when no open bin fits.
    int leaves = Integer.highestOneBit(Math.max(1, n - 1)) << 1;
    int[] tree = new int[2 * leaves];
    Arrays.fill(tree, leaves, 2 * leaves, budget);
    for (int i = leaves - 1; i >= 1; i--) tree[i] = Math.max(tree[2 * i], tree[2 * i + 1]);
    int[] binOf = new int[n];
    int[] count = new int[n];
    int bins = 0;
    for (long key : keys) {
      int pair = order[(int) key];
      int s = sizes[pair];
      int node = 1;
      while (node < leaves) node = tree[2 * node] >= s ? 2 * node : 2 * node + 1;
      int bin = node - leaves;
      tree[node] -= s;
      for (int p = node >> 1; p >= 1; p >>= 1) tree[p] = Math.max(tree[2 * p], tree[2 * p + 1]);
      binOf[pair] = bin;
      count[bin]++;
      bins = Math.max(bins, bin + 1);
    }
    int[][] out = new int[bins][];
    int[] fill = new int[bins];
    for (int b = 0; b < bins; b++) out[b] = new int[count[b]];
    for (long key : keys) {
      int pair = order[(int) key];
      int b = binOf[pair];
      out[b][fill[b]++] = pair;
    }
    rng.shuffle(out);
    return out;
  }

  /** Packing efficiency and the layouts' token counts for one epoch's plan. */
  public record Stats(int bins, long realTokens, long slots, long separateTokens, long sharedPrefixTokens) {
    /** η = real tokens / slots (bins x budget). */
    public double efficiency() { return slots == 0 ? 0 : (double) realTokens / slots; }
    /** separate-layout tokens / shared-prefix-layout tokens. */
    public double sharedPrefixSaving() { return sharedPrefixTokens == 0 ? 0 : (double) separateTokens / sharedPrefixTokens; }
  }

  /** Builds the packed batch of the given pairs (in the given order). Readout tokens are asserted. */
  static PackedBatch build(EncodedDataset ds, int[] pairs, Layout layout) {
    int total = 0;
    for (int p : pairs) total += ds.packedTokens(p, layout);
    boolean shared = layout == Layout.SHARED_PREFIX;
    int seqs = shared ? pairs.length : 2 * pairs.length;
    int[] tokens = new int[total];
    int[] positions = new int[total];
    int[] segments = shared ? new int[total] : null;
    int[] cu = new int[seqs + 1];
    int[] readout = new int[2 * pairs.length];
    int[] chosen = new int[pairs.length];
    int[] rejected = new int[pairs.length];
    float[] margins = new float[pairs.length];
    long[] pairIds = new long[pairs.length];
    int[] datasetIds = new int[pairs.length];
    int rt = ds.readoutToken();
    boolean append = rt >= 0; // rt < 0: nothing appended, each response's last token is its readout
    if (!append && shared) throw new IllegalArgumentException("last-token readout needs the separate layout");
    int t = 0, s = 0, maxSeq = 0;
    for (int k = 0; k < pairs.length; k++) {
      int p = pairs[k];
      int pl = ds.promptLength(p), cl = ds.chosenLength(p), rl = ds.rejectedLength(p);
      if (shared) {
        int start = t;
        ds.copyPrompt(p, tokens, t);
        for (int i = 0; i < pl; i++) { positions[t + i] = i; segments[t + i] = 0; }
        t += pl;
        ds.copyChosen(p, tokens, t);
        for (int i = 0; i <= cl; i++) { positions[t + i] = pl + i; segments[t + i] = 1; }
        t += cl;
        tokens[t] = rt;
        readout[2 * k] = t++;
        ds.copyRejected(p, tokens, t);
        for (int i = 0; i <= rl; i++) { positions[t + i] = pl + i; segments[t + i] = 2; }
        t += rl;
        tokens[t] = rt;
        readout[2 * k + 1] = t++;
        cu[++s] = t;
        maxSeq = Math.max(maxSeq, t - start);
      } else {
        for (int side = 0; side < 2; side++) {
          int start = t;
          ds.copyPrompt(p, tokens, t);
          t += pl;
          int rlen = side == 0 ? cl : rl;
          if (side == 0) ds.copyChosen(p, tokens, t); else ds.copyRejected(p, tokens, t);
          t += rlen;
          if (append) {
            tokens[t] = rt;
            readout[2 * k + side] = t++;
          } else {
            readout[2 * k + side] = t - 1;
          }
          for (int i = start; i < t; i++) positions[i] = i - start;
          cu[++s] = t;
          maxSeq = Math.max(maxSeq, t - start);
        }
      }
      chosen[k] = 2 * k;
      rejected[k] = 2 * k + 1;
      margins[k] = ds.margin(p);
      pairIds[k] = ds.pairId(p);
      datasetIds[k] = ds.datasetId(p);
    }
    if (t < total) {  // last-token readout: sized for two appended tokens per pair that were not appended
      tokens = java.util.Arrays.copyOf(tokens, t);
      positions = java.util.Arrays.copyOf(positions, t);
    }
    PackedBatch b = new PackedBatch(tokens, positions, cu, segments, maxSeq, readout, chosen, rejected, margins, pairIds, datasetIds);
    b.requireReadoutToken(append ? rt : -1);
    return b;
  }

  /**
   * A batch of single scored sequences (separate layout, no pairs): sequence s is {@code seqs[s]},
   * whose last token must be the readout token (any token when {@code readoutToken} is -1: an HF
   * model read at its last token); readout s is that last token. Used by inference ({@code score}
   * and the server), with bins from {@link #plan} over the sequence lengths.
   */
  public static PackedBatch sequences(List<int[]> seqs, int readoutToken) {
    int total = 0;
    for (int[] s : seqs) total += s.length;
    int[] tokens = new int[total];
    int[] positions = new int[total];
    int[] cu = new int[seqs.size() + 1];
    int[] readout = new int[seqs.size()];
    int t = 0, maxSeq = 0;
    for (int s = 0; s < seqs.size(); s++) {
      int[] seq = seqs.get(s);
      System.arraycopy(seq, 0, tokens, t, seq.length);
      for (int i = 0; i < seq.length; i++) positions[t + i] = i;
      t += seq.length;
      readout[s] = t - 1;
      cu[s + 1] = t;
      maxSeq = Math.max(maxSeq, seq.length);
    }
    PackedBatch b = new PackedBatch(tokens, positions, cu, null, maxSeq, readout, new int[0], new int[0], new float[0],
        new long[0], new int[0]);
    b.requireReadoutToken(readoutToken);
    return b;
  }

  /** SplitMix64: tiny, fast, and fixed (java.util.Random's stream is not part of our contract). */
  static final class SplitMix64 {
    private long state;

    SplitMix64(long seed) { this.state = seed; }

    long next() {
      long z = (state += 0x9E3779B97F4A7C15L);
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      return z ^ (z >>> 31);
    }

    /** Uniform in [0, bound) by rejection (no modulo bias). */
    int nextInt(int bound) {
      while (true) {
        long bits = next() >>> 1;
        long val = bits % bound;
        if (bits - val + (bound - 1) >= 0) return (int) val; // reject the biased tail
      }
    }

    void shuffle(int[] a) {
      for (int i = a.length - 1; i > 0; i--) {
        int j = nextInt(i + 1);
        int t = a[i]; a[i] = a[j]; a[j] = t;
      }
    }

    <T> void shuffle(T[] a) {
      for (int i = a.length - 1; i > 0; i--) {
        int j = nextInt(i + 1);
        T t = a[i]; a[i] = a[j]; a[j] = t;
      }
    }
  }
}
