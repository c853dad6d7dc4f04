package io.rewardkit.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * metrics.jsonl: one JSON object per line with TRL's metric names ({@code loss}, {@code accuracy},
 * {@code eval_accuracy}, ...) and {@code global_step}; record kinds and which fields are wall clock
 * are in {@link MetricsRecords}. Everything else is a pure function of the run's inputs, so a resumed
 * run writes the same records apart from those fields.
 */
public final class MetricsLog implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Path file;
  private final BufferedWriter out;
  private final List<Map<String, Object>> history = new ArrayList<>();

  /**
   * Opens the log; keeps existing lines with global_step <= keepUpTo (resume; -1 starts afresh).
   * Torn or later lines (written after the checkpoint, or cut by a kill) are dropped.
   */
  public MetricsLog(Path file, long keepUpTo) throws IOException {
    this.file = file;
    List<String> kept = new ArrayList<>();
    if (keepUpTo >= 0 && Files.exists(file)) {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        JsonNode n;
        try {
          n = JSON.readTree(line);
        } catch (IOException e) {
          break;  // torn last line
        }
        if (n == null || !n.has("global_step") || n.get("global_step").asLong() > keepUpTo) break;
        kept.add(line);
        history.add(toMap(n));
      }
    }
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.write(tmp, kept, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> toMap(JsonNode n) {
    return JSON.convertValue(n, LinkedHashMap.class);
  }

  public void write(Map<String, Object> record) {
    try {
      out.write(JSON.writeValueAsString(record));
      out.write('\n');
      out.flush();
      history.add(new LinkedHashMap<>(record));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  /** Every record written (including those kept from before a resume). */
  public List<Map<String, Object>> history() { return history; }

  public Path file() { return file; }

  @Override public void close() throws IOException { out.close(); }

  /** Reads a metrics file (for reports and tests). */
  public static List<Map<String, Object>> read(Path file) throws IOException {
    List<Map<String, Object>> rows = new ArrayList<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      if (!line.isBlank()) rows.add(toMap(JSON.readTree(line)));
    }
    return rows;
  }
}
