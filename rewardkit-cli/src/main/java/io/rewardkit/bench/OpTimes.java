package io.rewardkit.bench;

import java.util.Map;
import java.util.TreeMap;

/** Accumulated nanoseconds and call counts per op key ({@code family.direction}, e.g. {@code linear.bwd}). */
public final class OpTimes {
  private final Map<String, long[]> byKey = new TreeMap<>();

  public void add(String key, long nanos, long calls) {
    long[] v = byKey.computeIfAbsent(key, k -> new long[2]);
    v[0] += nanos;
    v[1] += calls;
  }

  public void addAll(OpTimes other) {
    other.byKey.forEach((k, v) -> add(k, v[0], v[1]));
  }

  public void clear() { byKey.clear(); }

  public long totalNanos() {
    long s = 0;
    for (long[] v : byKey.values()) s += v[0];
    return s;
  }

  /** key -> {nanos, calls}, sorted by key. */
  public Map<String, long[]> asMap() {
    Map<String, long[]> m = new TreeMap<>();
    byKey.forEach((k, v) -> m.put(k, v.clone()));
    return m;
  }

  /** Family totals: {@code linear.fwd} and {@code linear.bwd} both count towards {@code linear}. */
  public Map<String, long[]> byFamily() {
    Map<String, long[]> m = new TreeMap<>();
    byKey.forEach((k, v) -> {
      int dot = k.indexOf('.');
      long[] f = m.computeIfAbsent(dot < 0 ? k : k.substring(0, dot), x -> new long[2]);
      f[0] += v[0];
      f[1] += v[1];
    });
    return m;
  }
}
