package io.rewardkit.data;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** What loading did, per dataset: kept, truncated, dropped and bad records by reason. */
public final class DataReport {
  private final List<DatasetStats> datasets;
  private final String tokenizerHash;
  private final String templateHash;
  private final int readoutToken;

  DataReport(List<DatasetStats> datasets, String tokenizerHash, String templateHash, int readoutToken) {
    this.datasets = List.copyOf(datasets);
    this.tokenizerHash = tokenizerHash;
    this.templateHash = templateHash;
    this.readoutToken = readoutToken;
  }

  public List<DatasetStats> datasets() { return datasets; }
  public String tokenizerHash() { return tokenizerHash; }
  /** SHA-256 of the chat template source, or "none". */
  public String templateHash() { return templateHash; }
  public int readoutToken() { return readoutToken; }

  public long kept() { return datasets.stream().mapToLong(DatasetStats::kept).sum(); }
  public long records() { return datasets.stream().mapToLong(DatasetStats::records).sum(); }
  public long truncated() { return datasets.stream().mapToLong(DatasetStats::truncated).sum(); }
  public long dropped() { return datasets.stream().mapToLong(DatasetStats::droppedTotal).sum(); }
  public long bad() { return datasets.stream().mapToLong(DatasetStats::badTotal).sum(); }
  public long promptBoundaryViolations() { return datasets.stream().mapToLong(DatasetStats::promptBoundaryViolations).sum(); }
  public long tokens() { return datasets.stream().mapToLong(DatasetStats::tokens).sum(); }

  /** Reasons over all datasets (bad and dropped together) with counts. */
  public Map<String, Long> reasons() {
    Map<String, Long> m = new TreeMap<>();
    for (DatasetStats d : datasets) {
      d.bad.forEach((k, v) -> m.merge(k, v, Long::sum));
      d.dropped.forEach((k, v) -> m.merge(k, v, Long::sum));
    }
    return m;
  }

  /**
   * One line per dataset in the words every command uses: "NAME: 2000 records read, 1943 kept,
   * 57 dropped (empty_response 3, too_long 54)" (bad records and policy drops together, by reason),
   * plus the truncated count when any pair was cut to fit.
   */
  public List<String> summaryLines() {
    List<String> out = new ArrayList<>();
    for (DatasetStats d : datasets) {
      Map<String, Long> why = reasons(d);
      long dropped = d.droppedTotal() + d.badTotal();
      StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%s: %d records read, %d kept, %d dropped",
          d.name(), d.records + d.badTotal(), d.kept, dropped));
      if (!why.isEmpty()) {
        List<String> parts = new ArrayList<>();
        why.forEach((k, v) -> parts.add(k + " " + v));
        sb.append(" (").append(String.join(", ", parts)).append(')');
      }
      if (d.truncated() > 0) sb.append(String.format(Locale.ROOT, "; %d kept after truncation", d.truncated()));
      out.add(sb.toString());
    }
    return out;
  }

  /** The same counts as {@link #summaryLines()} for JSON (metrics.jsonl run_start, --output_json). */
  public List<Map<String, Object>> counts() {
    List<Map<String, Object>> out = new ArrayList<>();
    for (DatasetStats d : datasets) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("dataset", d.name());
      m.put("read", d.records + d.badTotal());
      m.put("kept", d.kept);
      m.put("dropped", d.droppedTotal() + d.badTotal());
      m.put("dropped_by_reason", reasons(d));
      m.put("truncated", d.truncated());
      out.add(m);
    }
    return out;
  }

  private static Map<String, Long> reasons(DatasetStats d) {
    Map<String, Long> m = new TreeMap<>(d.bad);
    d.dropped.forEach((k, v) -> m.merge(k, v, Long::sum));
    return m;
  }

  /** A console table: one row per dataset, then the reasons. */
  public String table() {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "%-40s %-10s %9s %9s %9s %9s %9s %9s %12s%n",
        "dataset", "format", "read", "kept", "trunc", "dropped", "bad", "pfx-viol", "tokens"));
    for (DatasetStats d : datasets) {
      sb.append(String.format(Locale.ROOT, "%-40s %-10s %9d %9d %9d %9d %9d %9d %12d%n", shorten(d.name(), 40),
          String.join(",", new java.util.TreeSet<>(d.formats.values())), d.records + d.badTotal(), d.kept,
          d.truncated(), d.droppedTotal(), d.badTotal(), d.promptBoundaryViolations, d.tokens));
    }
    if (datasets.size() > 1) {
      sb.append(String.format(Locale.ROOT, "%-40s %-10s %9d %9d %9d %9d %9d %9d %12d%n", "total", "",
          records() + bad(), kept(), truncated(), dropped(), bad(), promptBoundaryViolations(), tokens()));
    }
    for (DatasetStats d : datasets) {
      for (Map.Entry<String, Long> e : d.dropped.entrySet()) {
        sb.append(String.format(Locale.ROOT, "  dropped %-26s %9d  e.g. %s%n", e.getKey(), e.getValue(), d.firstError.get(e.getKey())));
      }
      for (Map.Entry<String, Long> e : d.bad.entrySet()) {
        sb.append(String.format(Locale.ROOT, "  bad     %-26s %9d  e.g. %s%n", e.getKey(), e.getValue(), d.firstError.get(e.getKey())));
      }
      if (d.truncatedPrompt > 0) sb.append(String.format(Locale.ROOT, "  truncated prompt_left %18d%n", d.truncatedPrompt));
      if (d.truncatedResponse > 0) sb.append(String.format(Locale.ROOT, "  truncated response_right %15d%n", d.truncatedResponse));
    }
    return sb.toString();
  }

  private static String shorten(String s, int n) { return s.length() <= n ? s : "..." + s.substring(s.length() - n + 3); }

  Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("tokenizer_sha256", tokenizerHash);
    m.put("template_sha256", templateHash);
    m.put("readout_token", readoutToken);
    List<Object> ds = new ArrayList<>();
    for (DatasetStats d : datasets) ds.add(d.toMap());
    m.put("datasets", ds);
    return m;
  }

  @SuppressWarnings("unchecked")
  static DataReport fromMap(Map<String, Object> m) {
    List<DatasetStats> ds = new ArrayList<>();
    for (Object o : (List<Object>) m.get("datasets")) ds.add(DatasetStats.fromMap((Map<String, Object>) o));
    return new DataReport(ds, (String) m.get("tokenizer_sha256"), (String) m.get("template_sha256"),
        ((Number) m.get("readout_token")).intValue());
  }
}
