package io.rewardkit.train;

import io.rewardkit.data.PackedBatch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A toy preference set for trainer tests: token sequences over a vocabulary of 16 where the chosen
 * sequence has more "good" tokens (ids 1-3) than the rejected one. Packed in the separate layout,
 * a fixed number of pairs per micro-batch, shuffled per epoch from (seed, epoch).
 */
class ToyPairs implements PairSource {
  final List<int[][]> pairs = new ArrayList<>();
  final int perBatch;
  final long seed;
  final List<String> names;

  ToyPairs(int n, int perBatch, long seed, int datasets) {
    this.perBatch = perBatch;
    this.seed = seed;
    SplittableRandom rng = new SplittableRandom(seed * 31 + n);
    for (int i = 0; i < n; i++) {
      int len = 3 + rng.nextInt(6);
      int[] c = new int[len], r = new int[len + rng.nextInt(3)];
      for (int k = 0; k < c.length; k++) c[k] = 4 + rng.nextInt(12);
      for (int k = 0; k < r.length; k++) r[k] = 4 + rng.nextInt(12);
      c[rng.nextInt(c.length)] = 1 + rng.nextInt(3);
      pairs.add(new int[][] {c, r, {i % datasets}});
    }
    List<String> ns = new ArrayList<>();
    for (int d = 0; d < datasets; d++) ns.add("toy" + d);
    names = List.copyOf(ns);
  }

  @Override public List<String> datasetNames() { return names; }
  @Override public int numPairs() { return pairs.size(); }

  @Override public List<PackedBatch> trainBatches(int epoch) {
    Integer[] order = new Integer[pairs.size()];
    for (int i = 0; i < order.length; i++) order[i] = i;
    SplittableRandom rng = new SplittableRandom(seed ^ (epoch * 0x9E3779B97F4A7C15L));
    for (int i = order.length - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      Integer t = order[i]; order[i] = order[j]; order[j] = t;
    }
    return pack(Arrays.asList(order));
  }

  @Override public List<PackedBatch> evalBatches() {
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < pairs.size(); i++) order.add(i);
    return pack(order);
  }

  private List<PackedBatch> pack(List<Integer> order) {
    List<PackedBatch> out = new ArrayList<>();
    for (int start = 0; start < order.size(); start += perBatch) {
      List<Integer> ids = order.subList(start, Math.min(order.size(), start + perBatch));
      out.add(batch(ids));
    }
    return out;
  }

  PackedBatch batch(List<Integer> ids) {
    int p = ids.size(), t = 0;
    for (int id : ids) t += pairs.get(id)[0].length + pairs.get(id)[1].length;
    int[] tokens = new int[t], positions = new int[t], cu = new int[2 * p + 1], readout = new int[2 * p];
    int[] chosen = new int[p], rejected = new int[p], ds = new int[p];
    long[] pairIds = new long[p];
    int pos = 0, s = 0, maxLen = 0;
    for (int k = 0; k < p; k++) {
      int[][] pr = pairs.get(ids.get(k));
      for (int side = 0; side < 2; side++) {
        int[] seq = pr[side];
        for (int i = 0; i < seq.length; i++) { tokens[pos + i] = seq[i]; positions[pos + i] = i; }
        pos += seq.length;
        cu[++s] = pos;
        readout[2 * k + side] = pos - 1;
        maxLen = Math.max(maxLen, seq.length);
      }
      chosen[k] = 2 * k;
      rejected[k] = 2 * k + 1;
      ds[k] = pr[2][0];
      pairIds[k] = ids.get(k);
    }
    return new PackedBatch(tokens, positions, cu, null, maxLen, readout, chosen, rejected, new float[p], pairIds, ds);
  }
}
