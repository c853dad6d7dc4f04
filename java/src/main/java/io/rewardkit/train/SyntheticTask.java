package io.rewardkit.train;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The embedded default task: a preference set that cannot be solved without attention across the
 * prompt/response boundary. The prompt asks to copy a random string; the chosen response copies it
 * exactly, the rejected one is the same string with exactly one character replaced by another
 * letter of the alphabet. Either response alone looks equally plausible (same length, same letter
 * distribution), so a model must compare response positions with prompt positions.
 */
public final class SyntheticTask {
  private SyntheticTask() {}

  /** One preference example as text. */
  public record Example(String prompt, String chosen, String rejected) {}

  public static final String ALPHABET = "abcdefghijklmnop";

  /** n examples, strings of minLen..maxLen letters, deterministic from seed. */
  public static List<Example> generate(int n, int minLen, int maxLen, long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    List<Example> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int len = minLen + rng.nextInt(maxLen - minLen + 1);
      char[] s = new char[len];
      for (int k = 0; k < len; k++) s[k] = ALPHABET.charAt(rng.nextInt(ALPHABET.length()));
      char[] wrong = s.clone();
      int at = rng.nextInt(len);
      char c;
      do { c = ALPHABET.charAt(rng.nextInt(ALPHABET.length())); } while (c == s[at]);
      wrong[at] = c;
      out.add(new Example("copy " + new String(s) + ":", new String(s), new String(wrong)));
    }
    return out;
  }
}
