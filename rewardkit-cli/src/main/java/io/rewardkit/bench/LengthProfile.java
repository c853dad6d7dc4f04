package io.rewardkit.bench;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * A seeded synthetic distribution of preference-pair lengths (prompt, chosen, rejected), for
 * benchmarking without a dataset. Lengths are log-normal around a median, clipped to a range:
 * the shape of real chat data (a long tail, no length below a few tokens).
 *
 * <ul>
 *   <li>{@link #HH_RLHF}: Anthropic hh-rlhf-like, short dialogues: prompt median 150, responses median 60;
 *   <li>{@link #ULTRAFEEDBACK}: UltraFeedback-like, long answers: prompt median 200, responses median 500
 *       (most between 400 and 600).
 * </ul>
 */
public enum LengthProfile {
  HH_RLHF("hh-rlhf", 150, 0.7, 8, 1024, 60, 0.8, 4, 512),
  ULTRAFEEDBACK("ultrafeedback", 200, 0.7, 8, 1024, 500, 0.15, 64, 1536);

  private final String id;
  private final double promptMedian, promptSigma, responseMedian, responseSigma;
  private final int promptMin, promptMax, responseMin, responseMax;

  LengthProfile(String id, double promptMedian, double promptSigma, int promptMin, int promptMax,
      double responseMedian, double responseSigma, int responseMin, int responseMax) {
    this.id = id;
    this.promptMedian = promptMedian;
    this.promptSigma = promptSigma;
    this.promptMin = promptMin;
    this.promptMax = promptMax;
    this.responseMedian = responseMedian;
    this.responseSigma = responseSigma;
    this.responseMin = responseMin;
    this.responseMax = responseMax;
  }

  public String id() { return id; }

  /** {@code hh-rlhf} / {@code ultrafeedback} (also accepts the enum names and short forms {@code hh}, {@code uf}). */
  public static LengthProfile parse(String s) {
    String k = s.trim().toLowerCase(Locale.ROOT).replace('_', '-');
    return switch (k) {
      case "hh-rlhf", "hh", "hh-rlhf-like", "short" -> HH_RLHF;
      case "ultrafeedback", "uf", "ultrafeedback-like", "long" -> ULTRAFEEDBACK;
      default -> throw new IllegalArgumentException("unknown length profile '" + s + "' (hh-rlhf | ultrafeedback)");
    };
  }

  /** Lengths of one pair: {prompt, chosen, rejected}. */
  public int[] sample(SplittableRandom rng) {
    int p = logNormal(rng, promptMedian, promptSigma, promptMin, promptMax);
    int c = logNormal(rng, responseMedian, responseSigma, responseMin, responseMax);
    int r = logNormal(rng, responseMedian, responseSigma, responseMin, responseMax);
    return new int[] {p, c, r};
  }

  private static int logNormal(SplittableRandom rng, double median, double sigma, int min, int max) {
    // Box-Muller: one standard normal from two uniforms (SplittableRandom has no nextGaussian on 17).
    double u1 = 1.0 - rng.nextDouble(), u2 = rng.nextDouble();
    double z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    long v = Math.round(median * Math.exp(sigma * z));
    return (int) Math.max(min, Math.min(max, v));
  }
}
