package io.rewardkit.model;

import io.rewardkit.data.PackedBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Hand-packed batches of preference pairs in both layouts, for model tests and benchmarks. */
public final class TestBatches {
  private TestBatches() {}

  /** One preference pair as token ids. */
  public record Pair(int[] prompt, int[] chosen, int[] rejected) {}

  public static List<Pair> randomPairs(SplittableRandom rng, int vocab, int[][] lengths) {
    List<Pair> out = new ArrayList<>();
    for (int[] l : lengths) out.add(new Pair(ids(rng, vocab, l[0]), ids(rng, vocab, l[1]), ids(rng, vocab, l[2])));
    return out;
  }

  private static int[] ids(SplittableRandom rng, int vocab, int n) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) a[i] = rng.nextInt(vocab);
    return a;
  }

  /** Separate layout: [prompt|chosen], [prompt|rejected] per pair; readouts chosen0, rejected0, chosen1, ... */
  public static PackedBatch separate(List<Pair> pairs) {
    List<int[]> seqs = new ArrayList<>();
    for (Pair p : pairs) {
      seqs.add(concat(p.prompt(), p.chosen()));
      seqs.add(concat(p.prompt(), p.rejected()));
    }
    int t = 0;
    for (int[] s : seqs) t += s.length;
    int[] tokens = new int[t], positions = new int[t], cu = new int[seqs.size() + 1], readout = new int[seqs.size()];
    int at = 0, maxLen = 0;
    for (int i = 0; i < seqs.size(); i++) {
      int[] s = seqs.get(i);
      System.arraycopy(s, 0, tokens, at, s.length);
      for (int j = 0; j < s.length; j++) positions[at + j] = j;
      at += s.length;
      cu[i + 1] = at;
      readout[i] = at - 1;
      maxLen = Math.max(maxLen, s.length);
    }
    return pairedInOrder(tokens, positions, cu, null, maxLen, readout);
  }

  /** Shared-prefix layout: one sequence [prompt|chosen|rejected] per pair, segments 0/1/2. */
  public static PackedBatch shared(List<Pair> pairs) {
    int t = 0;
    for (Pair p : pairs) t += p.prompt().length + p.chosen().length + p.rejected().length;
    int[] tokens = new int[t], positions = new int[t], seg = new int[t], cu = new int[pairs.size() + 1];
    int[] readout = new int[2 * pairs.size()];
    int at = 0, maxLen = 0;
    for (int i = 0; i < pairs.size(); i++) {
      Pair p = pairs.get(i);
      int np = p.prompt().length;
      int start = at;
      for (int j = 0; j < np; j++, at++) { tokens[at] = p.prompt()[j]; positions[at] = j; seg[at] = 0; }
      for (int j = 0; j < p.chosen().length; j++, at++) { tokens[at] = p.chosen()[j]; positions[at] = np + j; seg[at] = 1; }
      readout[2 * i] = at - 1;
      for (int j = 0; j < p.rejected().length; j++, at++) { tokens[at] = p.rejected()[j]; positions[at] = np + j; seg[at] = 2; }
      readout[2 * i + 1] = at - 1;
      cu[i + 1] = at;
      maxLen = Math.max(maxLen, at - start);
    }
    return pairedInOrder(tokens, positions, cu, seg, maxLen, readout);
  }

  /**
   * The batch of these packed arrays with readouts paired in order (chosen0, rejected0, chosen1, ...;
   * an odd last readout stays unpaired), pair ids 0.., zero margins, dataset 0.
   */
  public static PackedBatch pairedInOrder(int[] tokens, int[] positions, int[] cu, int[] seg, int maxLen, int[] readout) {
    int pairs = readout.length / 2;
    int[] chosen = new int[pairs], rejected = new int[pairs];
    long[] ids = new long[pairs];
    for (int p = 0; p < pairs; p++) {
      chosen[p] = 2 * p;
      rejected[p] = 2 * p + 1;
      ids[p] = p;
    }
    return new PackedBatch(tokens, positions, cu, seg, maxLen, readout, chosen, rejected, new float[pairs], ids, new int[pairs]);
  }

  private static int[] concat(int[] a, int[] b) {
    int[] c = new int[a.length + b.length];
    System.arraycopy(a, 0, c, 0, a.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }

  /** {@code seqs} (a golden file's JSON array of token-id arrays) packed one after another, each read at its last token. */
  public static PackedBatch sequences(com.fasterxml.jackson.databind.JsonNode seqs) {
    List<int[]> list = new java.util.ArrayList<>();
    for (com.fasterxml.jackson.databind.JsonNode s : seqs) {
      int[] x = new int[s.size()];
      for (int i = 0; i < x.length; i++) x[i] = s.get(i).asInt();
      list.add(x);
    }
    int t = list.stream().mapToInt(a -> a.length).sum();
    int[] tokens = new int[t], pos = new int[t], cu = new int[list.size() + 1], readout = new int[list.size()];
    int at = 0, max = 0;
    for (int s = 0; s < list.size(); s++) {
      for (int i = 0; i < list.get(s).length; i++, at++) {
        tokens[at] = list.get(s)[i];
        pos[at] = i;
      }
      cu[s + 1] = at;
      readout[s] = at - 1;
      max = Math.max(max, list.get(s).length);
    }
    return new PackedBatch(tokens, pos, cu, null, max, readout, new int[0], new int[0], new float[0], new long[0], new int[0]);
  }
}
