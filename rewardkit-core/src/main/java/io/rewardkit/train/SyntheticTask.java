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
  /** The default task: strings of 3 letters from an alphabet of 8 (learnable in a few hundred steps). */
  public static final int MIN_LEN = 3, MAX_LEN = 3, ALPHABET_SIZE = 8;

  /** n examples of the default task, deterministic from seed. */
  public static List<Example> generate(int n, long seed) {
    return generate(n, MIN_LEN, MAX_LEN, ALPHABET_SIZE, seed);
  }

  /** n examples, strings of minLen..maxLen letters, deterministic from seed. */
  public static List<Example> generate(int n, int minLen, int maxLen, long seed) {
    return generate(n, minLen, maxLen, ALPHABET.length(), seed);
  }

  /** n examples over the first alphabetSize letters of {@link #ALPHABET}. */
  public static List<Example> generate(int n, int minLen, int maxLen, int alphabetSize, long seed) {
    String alphabet = ALPHABET.substring(0, alphabetSize);
    SplittableRandom rng = new SplittableRandom(seed);
    List<Example> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int len = minLen + rng.nextInt(maxLen - minLen + 1);
      char[] s = new char[len];
      for (int k = 0; k < len; k++) s[k] = alphabet.charAt(rng.nextInt(alphabet.length()));
      char[] wrong = s.clone();
      int at = rng.nextInt(len);
      char c;
      do { c = alphabet.charAt(rng.nextInt(alphabet.length())); } while (c == s[at]);
      wrong[at] = c;
      out.add(new Example("copy " + new String(s) + ":", new String(s), new String(wrong)));
    }
    return out;
  }
}
