package io.rewardkit.report;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The record kinds of metrics.jsonl and the rules readers use on them. Every record has
 * {@code "record"} (one of the kinds below), {@code global_step}, {@code timestamp} (UTC, ISO-8601)
 * and {@code elapsed_s} (seconds since this invocation started training):
 * <ul>
 *   <li>{@code run_start}: one per invocation (a resumed run adds one): version, commit, model,
 *       datasets, data counts, options and their fingerprint, total steps, resumed_from;</li>
 *   <li>{@code train}: TRL's names for the logging window's means, plus {@code tokens_per_s} over the window;</li>
 *   <li>{@code eval}: {@code eval_*} metrics, {@code eval_runtime} and {@code eval_tokens_per_s};</li>
 *   <li>{@code run_end}: steps, tokens, {@code train_runtime}, {@code tokens_per_s} of the invocation and the
 *       final train/eval metrics nested under {@code final}.</li>
 * </ul>
 * Everything except the {@link #WALL_CLOCK} fields and the run_start records is a pure function of the
 * run's inputs, so a resumed run's {@link #withoutWallClock} view equals an uninterrupted run's.
 */
public final class MetricsRecords {
  private MetricsRecords() {}

  public static final String KIND = "record";
  public static final String RUN_START = "run_start", TRAIN = "train", EVAL = "eval", RUN_END = "run_end";

  /** Fields that differ between two runs of the same inputs. */
  public static final Set<String> WALL_CLOCK = Set.of("timestamp", "elapsed_s", "tokens_per_s", "eval_runtime",
      "eval_tokens_per_s", "train_runtime", "pairs_per_s");

  /** A new record of a kind; callers add the payload and global_step, then {@link #stamp}. */
  public static Map<String, Object> start(String kind) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put(KIND, kind);
    return m;
  }

  /** Adds the wall clock: timestamp and seconds since startNanos (this invocation's start). */
  public static void stamp(Map<String, Object> m, long startNanos) {
    m.put("timestamp", Instant.now().truncatedTo(ChronoUnit.MILLIS).toString());
    m.put("elapsed_s", round3((System.nanoTime() - startNanos) / 1e9));
  }

  public static double round3(double v) { return Math.round(v * 1000) / 1000.0; }

  public static double round1(double v) { return Math.round(v * 10) / 10.0; }

  /** The kind of a record; files written before record kinds existed are recognised by their keys. */
  public static String kind(Map<String, Object> r) {
    if (r.get(KIND) instanceof String k) return k;
    if (r.containsKey("eval_loss") || r.containsKey("eval_accuracy")) return EVAL;
    return r.containsKey("loss") ? TRAIN : "unknown";
  }

  public static List<Map<String, Object>> ofKind(List<Map<String, Object>> records, String kind) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Map<String, Object> r : records) if (kind.equals(kind(r))) out.add(r);
    return out;
  }

  /** The last record of a kind, or null. */
  public static Map<String, Object> last(List<Map<String, Object>> records, String kind) {
    for (int i = records.size() - 1; i >= 0; i--) if (kind.equals(kind(records.get(i)))) return records.get(i);
    return null;
  }

  /**
   * What must be identical between an interrupted-and-resumed run and an uninterrupted one: every
   * record except run_start (one per invocation) and a run_end a later invocation superseded (one
   * killed after it ended training, e.g. while writing the report), without the wall-clock fields.
   */
  public static List<Map<String, Object>> withoutWallClock(List<Map<String, Object>> records) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (int i = 0; i < records.size(); i++) {
      Map<String, Object> r = records.get(i);
      if (RUN_START.equals(kind(r))) continue;
      if (RUN_END.equals(kind(r)) && i + 1 < records.size() && RUN_START.equals(kind(records.get(i + 1)))) continue;
      Map<String, Object> c = new LinkedHashMap<>(r);
      c.keySet().removeAll(WALL_CLOCK);
      out.add(c);
    }
    return out;
  }

  /**
   * Training wall time over all invocations of a run (seconds): for each run_start, the largest
   * elapsed_s recorded before the next one. Time spent in an invocation after its last record (a
   * kill) is not known and not counted.
   */
  public static double totalRuntime(List<Map<String, Object>> records) {
    double total = 0, segment = 0;
    for (Map<String, Object> r : records) {
      if (RUN_START.equals(kind(r))) {
        total += segment;
        segment = 0;
      }
      if (r.get("elapsed_s") instanceof Number e) segment = Math.max(segment, e.doubleValue());
    }
    return total + segment;
  }
}
