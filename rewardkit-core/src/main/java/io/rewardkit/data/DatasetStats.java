package io.rewardkit.data;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Counts for one input dataset (one file or directory argument). Mutable while loading. */
public final class DatasetStats {
  final String name;
  final List<String> files = new ArrayList<>();
  final List<String> fileSha256 = new ArrayList<>();
  final Map<String, String> formats = new LinkedHashMap<>();
  long records;          // records that parsed into a pair (before truncation)
  long kept;
  long truncatedPrompt;  // kept, prompt cut from the left
  long truncatedResponse; // kept, responses cut from the right
  long promptBoundaryViolations; // prompt tokens were not a prefix of the full sequence's tokens (repaired)
  long tokens;            // prompt + chosen + rejected + 2 readouts over kept pairs
  final TreeMap<String, Long> dropped = new TreeMap<>(); // valid records removed by policy (too long, ...)
  final TreeMap<String, Long> bad = new TreeMap<>();     // invalid input, by reason
  final Map<String, String> firstError = new TreeMap<>();

  DatasetStats(String name) { this.name = name; }

  public String name() { return name; }
  public List<String> files() { return List.copyOf(files); }
  public List<String> fileSha256() { return List.copyOf(fileSha256); }
  public Map<String, String> formats() { return Map.copyOf(formats); }
  public long records() { return records; }
  public long kept() { return kept; }
  public long truncatedPrompt() { return truncatedPrompt; }
  public long truncatedResponse() { return truncatedResponse; }
  public long truncated() { return truncatedPrompt + truncatedResponse; }
  public long promptBoundaryViolations() { return promptBoundaryViolations; }
  public long tokens() { return tokens; }
  public Map<String, Long> dropped() { return Map.copyOf(dropped); }
  public Map<String, Long> bad() { return Map.copyOf(bad); }
  public long droppedTotal() { return dropped.values().stream().mapToLong(Long::longValue).sum(); }
  public long badTotal() { return bad.values().stream().mapToLong(Long::longValue).sum(); }
  /** The first message seen for each bad/dropped reason (file:line: ...). */
  public Map<String, String> firstError() { return Map.copyOf(firstError); }

  void bad(BadRecordException e) {
    bad.merge(e.reason(), 1L, Long::sum);
    firstError.putIfAbsent(e.reason(), e.getMessage());
  }

  void drop(String reason, String message) {
    dropped.merge(reason, 1L, Long::sum);
    firstError.putIfAbsent(reason, message);
  }

  Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", name);
    m.put("files", files);
    m.put("file_sha256", fileSha256);
    m.put("formats", new TreeMap<>(formats));
    m.put("records", records);
    m.put("kept", kept);
    m.put("truncated_prompt", truncatedPrompt);
    m.put("truncated_response", truncatedResponse);
    m.put("prompt_boundary_violations", promptBoundaryViolations);
    m.put("tokens", tokens);
    m.put("dropped", dropped);
    m.put("bad", bad);
    m.put("first_error", new TreeMap<>(firstError));
    return m;
  }

  @SuppressWarnings("unchecked")
  static DatasetStats fromMap(Map<String, Object> m) {
    DatasetStats s = new DatasetStats((String) m.get("name"));
    s.files.addAll((List<String>) m.get("files"));
    s.fileSha256.addAll((List<String>) m.get("file_sha256"));
    s.formats.putAll((Map<String, String>) m.get("formats"));
    s.records = ((Number) m.get("records")).longValue();
    s.kept = ((Number) m.get("kept")).longValue();
    s.truncatedPrompt = ((Number) m.get("truncated_prompt")).longValue();
    s.truncatedResponse = ((Number) m.get("truncated_response")).longValue();
    s.promptBoundaryViolations = ((Number) m.get("prompt_boundary_violations")).longValue();
    s.tokens = ((Number) m.get("tokens")).longValue();
    ((Map<String, Number>) m.get("dropped")).forEach((k, v) -> s.dropped.put(k, v.longValue()));
    ((Map<String, Number>) m.get("bad")).forEach((k, v) -> s.bad.put(k, v.longValue()));
    s.firstError.putAll((Map<String, String>) m.get("first_error"));
    return s;
  }
}
