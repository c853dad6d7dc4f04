package io.rewardkit.eval;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Evaluation of a reward model on preference pairs. Per-pair arrays are in evaluation order.
 * Accuracy is strict (r_c > r_r; a tie counts as wrong), as in training.
 *
 * @param loss          pair-weighted mean of the configured loss
 * @param chosen        [P] reward of each pair's chosen response
 * @param rejected      [P] reward of each pair's rejected response
 * @param chosenLength  [P] tokens in the chosen sequence (prompt + response)
 * @param rejectedLength [P] tokens in the rejected sequence
 * @param datasetIds    [P] dataset of each pair (index into datasetNames)
 * @param pairIds       [P] ordinal of each pair in its dataset
 */
public record EvalResult(
    double loss,
    float[] chosen,
    float[] rejected,
    int[] chosenLength,
    int[] rejectedLength,
    int[] datasetIds,
    long[] pairIds,
    List<String> datasetNames) {

  public int numPairs() { return chosen.length; }

  public double accuracy() { return accuracy(-1); }

  /** Accuracy over the pairs of one dataset (-1: all). */
  public double accuracy(int dataset) {
    int n = 0, ok = 0;
    for (int i = 0; i < chosen.length; i++) {
      if (dataset >= 0 && datasetIds[i] != dataset) continue;
      n++;
      if (chosen[i] > rejected[i]) ok++;
    }
    return n == 0 ? Double.NaN : (double) ok / n;
  }

  public int count(int dataset) {
    int n = 0;
    for (int d : datasetIds) if (d == dataset) n++;
    return n;
  }

  public double margin() {
    double s = 0;
    for (int i = 0; i < chosen.length; i++) s += (double) chosen[i] - rejected[i];
    return s / chosen.length;
  }

  public double minReward() {
    double m = Double.POSITIVE_INFINITY;
    for (int i = 0; i < chosen.length; i++) m = Math.min(m, Math.min(chosen[i], rejected[i]));
    return m;
  }

  public double maxReward() {
    double m = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < chosen.length; i++) m = Math.max(m, Math.max(chosen[i], rejected[i]));
    return m;
  }

  public double meanReward() {
    double s = 0;
    for (int i = 0; i < chosen.length; i++) s += (double) chosen[i] + rejected[i];
    return s / (2.0 * chosen.length);
  }

  public double rewardStd() {
    double mean = meanReward(), s = 0;
    for (int i = 0; i < chosen.length; i++) {
      s += (chosen[i] - mean) * (chosen[i] - mean) + (rejected[i] - mean) * (rejected[i] - mean);
    }
    return Math.sqrt(s / (2.0 * chosen.length));
  }

  /** Accuracy of "the longer response is chosen" (ties count 1/2): how far length alone gets. */
  public double lengthBaselineAccuracy() {
    double ok = 0;
    for (int i = 0; i < chosen.length; i++) ok += lengthBaselineScore(i);
    return ok / chosen.length;
  }

  /** Pair i under the length-only baseline: 1 if the chosen sequence is longer, 1/2 on a tie, else 0. */
  private double lengthBaselineScore(int i) {
    return chosenLength[i] > rejectedLength[i] ? 1 : chosenLength[i] == rejectedLength[i] ? 0.5 : 0;
  }

  /** Upper bounds (tokens of the longer sequence of a pair) of the length buckets. */
  public static final int[] LENGTH_BUCKETS = {64, 128, 256, 512, 1024, 2048, Integer.MAX_VALUE};

  public static String bucketName(int b) {
    int lo = b == 0 ? 1 : LENGTH_BUCKETS[b - 1] + 1;
    return LENGTH_BUCKETS[b] == Integer.MAX_VALUE ? ">" + LENGTH_BUCKETS[b - 1] : lo + "-" + LENGTH_BUCKETS[b];
  }

  /** One length bucket: its pairs, the model's accuracy and the length-only baseline's on them. */
  public record LengthBucket(String name, int pairs, double accuracy, double lengthBaseline) {}

  /** The non-empty length buckets, shortest first. */
  public List<LengthBucket> lengthBuckets() {
    int[] n = new int[LENGTH_BUCKETS.length], ok = new int[LENGTH_BUCKETS.length];
    double[] base = new double[LENGTH_BUCKETS.length];
    for (int i = 0; i < chosen.length; i++) {
      int len = Math.max(chosenLength[i], rejectedLength[i]), b = 0;
      while (len > LENGTH_BUCKETS[b]) b++;
      n[b]++;
      if (chosen[i] > rejected[i]) ok[b]++;
      base[b] += lengthBaselineScore(i);
    }
    List<LengthBucket> out = new java.util.ArrayList<>();
    for (int b = 0; b < n.length; b++) {
      if (n[b] > 0) out.add(new LengthBucket(bucketName(b), n[b], (double) ok[b] / n[b], base[b] / n[b]));
    }
    return out;
  }

  /** TRL-style metrics with a prefix ("eval_"); per-dataset accuracy when there are several datasets. */
  public Map<String, Object> metrics(String prefix) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put(prefix + "loss", loss);
    m.put(prefix + "accuracy", accuracy());
    m.put(prefix + "margin", margin());
    m.put(prefix + "min_reward", minReward());
    m.put(prefix + "mean_reward", meanReward());
    m.put(prefix + "max_reward", maxReward());
    if (datasetNames.size() > 1) {
      for (int d = 0; d < datasetNames.size(); d++) {
        if (count(d) > 0) m.put(prefix + safeName(datasetNames.get(d)) + "_accuracy", accuracy(d));
      }
    }
    return m;
  }

  static String safeName(String name) {
    return name.replaceAll("[^A-Za-z0-9_.-]+", "_");
  }
}
