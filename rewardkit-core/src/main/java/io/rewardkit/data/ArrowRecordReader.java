package io.rewardkit.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.arrow.vector.util.Text;

/**
 * Streams the rows of an Arrow IPC file or stream (what {@code datasets.save_to_disk} writes:
 * streams named {@code data-XXXXX-of-NNNNN.arrow}) as JSON objects, one record batch in memory at
 * a time. Apache Arrow Java decodes; lists and structs become JSON arrays and objects.
 */
final class ArrowRecordReader {
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
  static final byte[] FILE_MAGIC = {'A', 'R', 'R', 'O', 'W', '1'};

  private ArrowRecordReader() {}

  /** columns: the top-level fields to decode (null: all); the others appear as null. */
  static void read(Path file, String name, boolean fileFormat, java.util.Set<String> columns, JsonRecordReader.Sink sink) {
    try (BufferAllocator alloc = new RootAllocator();
         FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
         ArrowReader reader = fileFormat ? new ArrowFileReader(ch, alloc) : new ArrowStreamReader(ch, alloc)) {
      VectorSchemaRoot root = reader.getVectorSchemaRoot();
      List<FieldVector> cols = root.getFieldVectors();
      long row = 0;
      while (reader.loadNextBatch()) {
        int n = root.getRowCount();
        for (int i = 0; i < n; i++, row++) {
          String where = name + ":row " + row;
          ObjectNode o = JSON.objectNode();
          try {
            for (FieldVector v : cols) {
              o.set(v.getName(), columns != null && !columns.contains(v.getName()) ? JSON.nullNode() : json(v.getObject(i), v.getName(), where));
            }
          } catch (BadRecordException e) {
            sink.bad(e);
            continue;
          }
          sink.record(o, where);
        }
      }
    } catch (ExceptionInInitializerError | NoClassDefFoundError e) {
      // Arrow's memory layer reads java.nio internals; the launchers open them, a bare `java` may not.
      throw new RewardKitException("reading Arrow files needs the JVM option --add-opens=java.base/java.nio=ALL-UNNAMED "
          + "(the rewardkit launcher sets it); cannot read " + file);
    } catch (RewardKitException e) {
      throw e; // from the sink
    } catch (java.nio.file.NoSuchFileException e) {
      throw new RewardKitException("input not found: " + file);
    } catch (java.nio.file.AccessDeniedException e) {
      throw new RewardKitException("input is not readable (permission denied): " + file);
    } catch (IOException | RuntimeException e) {
      String why = e.getMessage() == null ? "damaged data" : e.getMessage();
      sink.bad(new BadRecordException("malformed_arrow", name, "cannot decode the Arrow file: " + why + " (rest of file not read)"));
    }
  }

  /** Arrow Java's row objects (Text, List, Map for structs, boxed numbers) to JSON. */
  private static JsonNode json(Object v, String field, String where) {
    if (v == null) return JSON.nullNode();
    if (v instanceof Text t) {
      byte[] b = t.copyBytes();
      int bad = Utf8.firstInvalid(b, 0, b.length);
      if (bad >= 0) {
        throw new BadRecordException("invalid_utf8", where, String.format(java.util.Locale.ROOT,
            "field '%s' has invalid UTF-8 byte 0x%02x at byte %d", field, b[bad] & 0xff, bad));
      }
      return JSON.textNode(new String(b, StandardCharsets.UTF_8));
    }
    if (v instanceof CharSequence s) return JSON.textNode(s.toString());
    if (v instanceof Boolean b) return JSON.booleanNode(b);
    if (v instanceof Integer x) return JSON.numberNode(x);
    if (v instanceof Long x) return JSON.numberNode(x);
    if (v instanceof Short x) return JSON.numberNode(x);
    if (v instanceof Byte x) return JSON.numberNode(x);
    if (v instanceof Float x) return JSON.numberNode(x);
    if (v instanceof Double x) return JSON.numberNode(x);
    if (v instanceof BigDecimal x) return JSON.numberNode(x);
    if (v instanceof List<?> l) {
      ArrayNode a = JSON.arrayNode();
      for (Object e : l) a.add(json(e, field, where));
      return a;
    }
    if (v instanceof Map<?, ?> m) {
      ObjectNode o = JSON.objectNode();
      for (Map.Entry<?, ?> e : m.entrySet()) o.set(String.valueOf(e.getKey()), json(e.getValue(), field + "." + e.getKey(), where));
      return o;
    }
    if (v instanceof byte[] b) { // binary (images, raw bytes): text only when valid UTF-8
      return Utf8.firstInvalid(b, 0, b.length) >= 0 ? JSON.nullNode() : JSON.textNode(new String(b, StandardCharsets.UTF_8));
    }
    return JSON.textNode(v.toString());
  }
}
