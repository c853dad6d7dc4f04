package io.rewardkit.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.io.AtomicFiles;
import io.rewardkit.report.MetricsRecords;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
 *
 * <p>Integrity: each record is one {@code write} of the complete line including its newline, so a
 * line without a newline can only be the torn tail of a write cut short (kill, full disk). Every
 * reader ({@link #read}, {@link #lines}) ignores such a tail; the writer removes it when it opens
 * the file. Records are free-form maps: fields can be added without changing this class.
 */
public final class MetricsLog implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Path file;
  private final FileChannel out;
  private final List<Map<String, Object>> history = new ArrayList<>();

  /**
   * Opens the log; keeps existing lines with global_step <= keepUpTo (resume; -1 starts afresh).
   * Torn or later lines (written after the checkpoint, or cut by a kill) are dropped.
   */
  public MetricsLog(Path file, long keepUpTo) throws IOException {
    this.file = file;
    List<String> kept = new ArrayList<>();
    if (keepUpTo >= 0 && Files.exists(file)) {
      for (String line : lines(file)) {
        JsonNode n = parse(line);
        if (n == null || !n.has("global_step") || n.get("global_step").asLong() > keepUpTo) break;
        kept.add(line);
        history.add(toMap(n));
      }
    }
    AtomicFiles.writeLines(file, kept);
    out = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
  }

  private static JsonNode parse(String line) {
    try {
      JsonNode n = JSON.readTree(line);
      return n != null && n.isObject() ? n : null;
    } catch (IOException e) {
      return null;
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> toMap(JsonNode n) {
    return JSON.convertValue(n, LinkedHashMap.class);
  }

  public void write(Map<String, Object> record) {
    try {
      ByteBuffer line = ByteBuffer.wrap((JSON.writeValueAsString(record) + "\n").getBytes(StandardCharsets.UTF_8));
      while (line.hasRemaining()) out.write(line);  // APPEND: one write per line; a partial one only on error
      history.add(new LinkedHashMap<>(record));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  /** Every record written (including those kept from before a resume). */
  public List<Map<String, Object>> history() { return history; }

  public Path file() { return file; }

  @Override public void close() throws IOException { out.close(); }

  /** The complete lines of a metrics file: a last line without its newline (a torn write) is left out. */
  public static List<String> lines(Path file) throws IOException {
    String text = Files.readString(file, StandardCharsets.UTF_8);
    int end = text.lastIndexOf('\n');
    List<String> out = new ArrayList<>();
    if (end < 0) return out;
    for (String l : text.substring(0, end).split("\n", -1)) if (!l.isBlank()) out.add(l);
    return out;
  }

  /** Reads a metrics file (reports, eval, tests), ignoring a torn last line; a bad complete line is an error naming it. */
  public static List<Map<String, Object>> read(Path file) throws IOException {
    List<Map<String, Object>> rows = new ArrayList<>();
    int no = 0;
    for (String line : lines(file)) {
      no++;
      JsonNode n = parse(line);
      if (n == null) throw new io.rewardkit.RewardKitException(file + ": line " + no + " is not a JSON object");
      rows.add(toMap(n));
    }
    return rows;
  }
}
