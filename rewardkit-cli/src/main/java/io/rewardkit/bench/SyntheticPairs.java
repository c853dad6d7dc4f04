package io.rewardkit.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Seeded synthetic preference pairs: lengths from a {@link LengthProfile}, uniformly random token ids, each response
 * ending with one fixed readout token ({@link #readoutToken}) as a dataset's responses do.
 */
public final class SyntheticPairs {
  private SyntheticPairs() {}

  /**
   * {@code count} pairs. Ids are drawn from {@code [0, vocabSize)}; the values do not change the
   * amount of work, only the lengths do. A pair longer than {@code maxTokens} (as one shared-prefix
   * sequence, or as its longer padded row) has its responses cut from the end, then its prompt from
   * the front, like a truncating data pipeline.
   */
  public static List<PairTokens> generate(LengthProfile profile, int count, int vocabSize, int maxTokens, long seed) {
    if (count <= 0) throw new IllegalArgumentException("pair count must be positive, got " + count);
    if (maxTokens < 8) throw new IllegalArgumentException("max tokens per pair must be >= 8, got " + maxTokens);
    SplittableRandom rng = new SplittableRandom(seed);
    List<PairTokens> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int[] len = fit(profile.sample(rng), maxTokens);
      out.add(new PairTokens(ids(rng, len[0], vocabSize), response(rng, len[1], vocabSize), response(rng, len[2], vocabSize)));
    }
    return out;
  }

  /** Shrinks {prompt, chosen, rejected} until prompt + chosen + rejected <= max (keeps at least 1 each). */
  static int[] fit(int[] len, int max) {
    int p = len[0], c = len[1], r = len[2];
    while (p + c + r > max) {
      if (c > 1 && c >= r && c > max / 4) c--;
      else if (r > 1 && r > max / 4) r--;
      else if (p > 1) p--;
      else if (c > 1) c--;
      else r--;
    }
    return new int[] {p, c, r};
  }

  /** n - 1 random ids, then the readout token {@link #readoutToken}. */
  private static int[] response(SplittableRandom rng, int n, int vocab) {
    int[] a = ids(rng, n, vocab);
    a[n - 1] = readoutToken(vocab);
    return a;
  }

  /** The token every synthetic response ends with (the reward is read there, as at a dataset's readout token). */
  public static int readoutToken(int vocabSize) { return vocabSize - 1; }

  private static int[] ids(SplittableRandom rng, int n, int vocab) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) a[i] = rng.nextInt(vocab);
    return a;
  }
}
