package io.rewardkit.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.airlift.compress.Decompressor;
import io.airlift.compress.lz4.Lz4Decompressor;
import io.airlift.compress.snappy.SnappyDecompressor;
import io.airlift.compress.zstd.ZstdDecompressor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.PrimitiveIterator;
import java.util.zip.GZIPInputStream;
import org.apache.parquet.bytes.BytesInput;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.Encoding;
import org.apache.parquet.column.page.DataPage;
import org.apache.parquet.column.page.DataPageV1;
import org.apache.parquet.column.page.DataPageV2;
import org.apache.parquet.column.page.DictionaryPage;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.column.page.PageReader;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.format.ColumnChunk;
import org.apache.parquet.format.ColumnMetaData;
import org.apache.parquet.format.CompressionCodec;
import org.apache.parquet.format.FieldRepetitionType;
import org.apache.parquet.format.FileMetaData;
import org.apache.parquet.format.PageHeader;
import org.apache.parquet.format.RowGroup;
import org.apache.parquet.format.SchemaElement;
import org.apache.parquet.format.Util;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.MessageColumnIO;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Type;
import org.apache.parquet.schema.Types;

/**
 * Streams the rows of a Parquet file as JSON objects, one row group in memory at a time (memory
 * is bounded by the largest row group, not the file). The file layer (footer, column chunks,
 * page headers, codecs) is here; page decoding and nested record assembly are parquet-column's,
 * so no Hadoop is needed. Lists (3-level LIST and legacy 2-level), structs and maps become JSON
 * arrays and objects, as {@code datasets} shows them.
 */
final class ParquetRecordReader {
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
  static final byte[] MAGIC = {'P', 'A', 'R', '1'};

  private ParquetRecordReader() {}

  /**
   * Reads every row into the sink ({@code name:row N}, N from 0 as datasets counts). Only the
   * top-level columns in {@code columns} (null: all) are read and decoded; the others appear as
   * null, so messages still list every field of the file. Structural damage is one bad record that
   * ends the file.
   */
  static void read(Path file, String name, java.util.Set<String> columns, JsonRecordReader.Sink sink) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      FileMetaData meta = footer(ch);
      MessageType schema = schema(meta.getSchema());
      MessageType read = schema;
      if (columns != null) {
        List<Type> keep = new ArrayList<>();
        for (Type t : schema.getFields()) if (columns.contains(t.getName())) keep.add(t);
        read = new MessageType(schema.getName(), keep);
      }
      MessageColumnIO io = new ColumnIOFactory().getColumnIO(read, schema);
      long row = 0;
      for (RowGroup rg : meta.getRow_groups()) {
        RowGroupPages pages = new RowGroupPages(ch, rg, read);
        RecordReader<Group> rr = read.getFieldCount() == 0 ? null : io.getRecordReader(pages, new GroupRecordConverter(read));
        for (long i = 0; i < rg.getNum_rows(); i++, row++) {
          String where = name + ":row " + row;
          ObjectNode node;
          try {
            ObjectNode got = rr == null ? JSON.objectNode() : (ObjectNode) toJson(rr.read(), read, where);
            node = JSON.objectNode();
            for (Type t : schema.getFields()) node.set(t.getName(), got.has(t.getName()) ? got.get(t.getName()) : JSON.nullNode());
          } catch (BadRecordException e) {
            sink.bad(e);
            continue;
          }
          sink.record(node, where);
        }
      }
    } catch (io.rewardkit.RewardKitException e) {
      throw e; // from the sink (on_bad_record fail, a refused format): not a decoding problem
    } catch (java.nio.file.NoSuchFileException e) {
      throw new io.rewardkit.RewardKitException("input not found: " + file);
    } catch (java.nio.file.AccessDeniedException e) {
      throw new io.rewardkit.RewardKitException("input is not readable (permission denied): " + file);
    } catch (IOException | RuntimeException e) {
      // A damaged file (bad footer, page or codec): one bad record naming the file; the rest is not read.
      String why = e.getMessage() == null ? "damaged data" : e.getMessage();
      sink.bad(new BadRecordException("malformed_parquet", name, "cannot decode the Parquet file: " + why + " (rest of file not read)"));
    }
  }

  private static FileMetaData footer(FileChannel ch) throws IOException {
    long size = ch.size();
    if (size < 12) throw new IOException("file is too short to be Parquet");
    ByteBuffer tail = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    readFully(ch, tail, size - 8);
    tail.flip();
    int len = tail.getInt();
    byte[] magic = new byte[4];
    tail.get(magic);
    if (!java.util.Arrays.equals(magic, MAGIC)) {
      throw new IOException("footer magic missing (truncated or encrypted file)");
    }
    if (len <= 0 || len > size - 12) throw new IOException("footer length " + len + " is out of range");
    ByteBuffer buf = ByteBuffer.allocate(len);
    readFully(ch, buf, size - 8 - len);
    return Util.readFileMetaData(new ByteArrayInputStream(buf.array()));
  }

  private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
    while (b.hasRemaining()) {
      int n = ch.read(b, pos + b.position());
      if (n < 0) throw new IOException("unexpected end of file");
    }
  }

  // ---- schema: thrift SchemaElements (depth-first, num_children) to parquet-column's MessageType ----

  static MessageType schema(List<SchemaElement> elements) {
    int[] pos = {1};
    List<Type> fields = new ArrayList<>();
    for (int i = 0; i < elements.get(0).getNum_children(); i++) fields.add(type(elements, pos));
    return new MessageType(elements.get(0).getName(), fields);
  }

  private static Type type(List<SchemaElement> els, int[] pos) {
    SchemaElement e = els.get(pos[0]++);
    Type.Repetition rep = e.isSetRepetition_type() ? repetition(e.getRepetition_type()) : Type.Repetition.OPTIONAL;
    LogicalTypeAnnotation ann = annotation(e);
    if (e.isSetNum_children() && e.getNum_children() > 0 || !e.isSetType()) {
      List<Type> kids = new ArrayList<>();
      for (int i = 0; i < e.getNum_children(); i++) kids.add(type(els, pos));
      return Types.buildGroup(rep).as(ann).addFields(kids.toArray(new Type[0])).named(e.getName());
    }
    PrimitiveTypeName p = switch (e.getType()) {
      case BOOLEAN -> PrimitiveTypeName.BOOLEAN;
      case INT32 -> PrimitiveTypeName.INT32;
      case INT64 -> PrimitiveTypeName.INT64;
      case INT96 -> PrimitiveTypeName.INT96;
      case FLOAT -> PrimitiveTypeName.FLOAT;
      case DOUBLE -> PrimitiveTypeName.DOUBLE;
      case BYTE_ARRAY -> PrimitiveTypeName.BINARY;
      case FIXED_LEN_BYTE_ARRAY -> PrimitiveTypeName.FIXED_LEN_BYTE_ARRAY;
    };
    Types.PrimitiveBuilder<PrimitiveType> b = Types.primitive(p, rep);
    if (p == PrimitiveTypeName.FIXED_LEN_BYTE_ARRAY) b = b.length(e.getType_length());
    if (ann instanceof LogicalTypeAnnotation.StringLogicalTypeAnnotation
        || ann instanceof LogicalTypeAnnotation.EnumLogicalTypeAnnotation
        || ann instanceof LogicalTypeAnnotation.JsonLogicalTypeAnnotation) {
      b = b.as(ann);
    }
    return b.named(e.getName());
  }

  private static Type.Repetition repetition(FieldRepetitionType t) {
    return switch (t) {
      case REQUIRED -> Type.Repetition.REQUIRED;
      case OPTIONAL -> Type.Repetition.OPTIONAL;
      case REPEATED -> Type.Repetition.REPEATED;
    };
  }

  /** Only the annotations that change the JSON shape or text decoding; others read as their physical type. */
  private static LogicalTypeAnnotation annotation(SchemaElement e) {
    if (e.isSetLogicalType()) {
      var l = e.getLogicalType();
      if (l.isSetSTRING()) return LogicalTypeAnnotation.stringType();
      if (l.isSetENUM()) return LogicalTypeAnnotation.enumType();
      if (l.isSetJSON()) return LogicalTypeAnnotation.jsonType();
      if (l.isSetLIST()) return LogicalTypeAnnotation.listType();
      if (l.isSetMAP()) return LogicalTypeAnnotation.mapType();
    }
    if (e.isSetConverted_type()) {
      switch (e.getConverted_type()) {
        case UTF8: return LogicalTypeAnnotation.stringType();
        case ENUM: return LogicalTypeAnnotation.enumType();
        case JSON: return LogicalTypeAnnotation.jsonType();
        case LIST: return LogicalTypeAnnotation.listType();
        case MAP: case MAP_KEY_VALUE: return LogicalTypeAnnotation.mapType();
        default: return null;
      }
    }
    return null;
  }

  // ---- pages of one row group ----

  private static final class RowGroupPages implements PageReadStore {
    private final Map<String, ChunkPages> byPath = new HashMap<>();
    private final long rows;

    RowGroupPages(FileChannel ch, RowGroup rg, MessageType schema) throws IOException {
      this.rows = rg.getNum_rows();
      for (ColumnChunk cc : rg.getColumns()) {
        ColumnMetaData md = cc.getMeta_data();
        if (md == null) throw new IOException("column chunk without metadata (encrypted or external file)");
        if (!schema.containsField(md.getPath_in_schema().get(0))) continue; // not read: its bytes stay on disk
        String path = String.join(".", md.getPath_in_schema());
        long start = md.isSetDictionary_page_offset() && md.getDictionary_page_offset() > 0
            ? Math.min(md.getDictionary_page_offset(), md.getData_page_offset()) : md.getData_page_offset();
        long len = md.getTotal_compressed_size();
        if (len < 0 || len > Integer.MAX_VALUE - 16 || start < 0 || start + len > ch.size()) {
          throw new IOException("column chunk '" + path + "' lies outside the file");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) len);
        readFully(ch, buf, start);
        ColumnDescriptor desc = schema.getColumnDescription(md.getPath_in_schema().toArray(new String[0]));
        byPath.put(path, new ChunkPages(buf.array(), md.getNum_values(), md.getCodec(), desc, "column '" + path + "'"));
      }
    }

    @Override public PageReader getPageReader(ColumnDescriptor d) {
      ChunkPages p = byPath.get(String.join(".", d.getPath()));
      if (p == null) throw new java.io.UncheckedIOException(new IOException("column '" + String.join(".", d.getPath()) + "' has no data in a row group"));
      return p;
    }
    @Override public long getRowCount() { return rows; }
    @Override public Optional<Long> getRowIndexOffset() { return Optional.empty(); }
    @Override public Optional<PrimitiveIterator.OfLong> getRowIndexes() { return Optional.empty(); }
  }

  /** Pages of one column chunk, decompressed one at a time as the record reader asks. */
  private static final class ChunkPages implements PageReader {
    private final InputStream in;
    private final long totalValues;
    private final CompressionCodec codec;
    private final String what;
    private DictionaryPage dictionary;
    private final ArrayDeque<DataPage> ahead = new ArrayDeque<>();
    private long valuesRead;

    ChunkPages(byte[] bytes, long totalValues, CompressionCodec codec, ColumnDescriptor d, String what) throws IOException {
      this.in = new ByteArrayInputStream(bytes);
      this.totalValues = totalValues;
      this.codec = codec;
      this.what = what;
      // A dictionary page, when present, comes first: read it now so readDictionaryPage() has it.
      DataPage first = next();
      if (first != null) ahead.add(first);
    }

    @Override public DictionaryPage readDictionaryPage() { return dictionary; }
    @Override public long getTotalValueCount() { return totalValues; }

    @Override public DataPage readPage() {
      if (!ahead.isEmpty()) return ahead.poll();
      try {
        return next();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(new IOException(what + ": " + e.getMessage(), e));
      }
    }

    private DataPage next() throws IOException {
      while (valuesRead < totalValues && in.available() > 0) {
        PageHeader h = Util.readPageHeader(in);
        byte[] raw = in.readNBytes(h.getCompressed_page_size());
        if (raw.length != h.getCompressed_page_size()) throw new IOException("page runs past the column chunk");
        switch (h.getType()) {
          case DICTIONARY_PAGE -> {
            var dh = h.getDictionary_page_header();
            dictionary = new DictionaryPage(BytesInput.from(decompress(raw, h.getUncompressed_page_size())),
                dh.getNum_values(), encoding(dh.getEncoding()));
          }
          case DATA_PAGE -> {
            var dh = h.getData_page_header();
            valuesRead += dh.getNum_values();
            return new DataPageV1(BytesInput.from(decompress(raw, h.getUncompressed_page_size())), dh.getNum_values(),
                h.getUncompressed_page_size(), null, encoding(dh.getRepetition_level_encoding()),
                encoding(dh.getDefinition_level_encoding()), encoding(dh.getEncoding()));
          }
          case DATA_PAGE_V2 -> {
            var dh = h.getData_page_header_v2();
            valuesRead += dh.getNum_values();
            int rl = dh.getRepetition_levels_byte_length(), dl = dh.getDefinition_levels_byte_length();
            int dataLen = raw.length - rl - dl;
            byte[] data = java.util.Arrays.copyOfRange(raw, rl + dl, raw.length);
            boolean compressed = !dh.isSetIs_compressed() || dh.isIs_compressed();
            if (compressed) data = decompress(data, h.getUncompressed_page_size() - rl - dl);
            else if (dataLen < 0) throw new IOException("page levels are longer than the page");
            return DataPageV2.uncompressed(dh.getNum_rows(), dh.getNum_nulls(), dh.getNum_values(),
                BytesInput.from(raw, 0, rl), BytesInput.from(raw, rl, dl), encoding(dh.getEncoding()),
                BytesInput.from(data), null);
          }
          default -> { /* index pages: skip */ }
        }
      }
      return null;
    }

    private static Encoding encoding(org.apache.parquet.format.Encoding e) { return Encoding.valueOf(e.name()); }

    private byte[] decompress(byte[] src, int size) throws IOException {
      if (codec == CompressionCodec.UNCOMPRESSED) return src;
      if (codec == CompressionCodec.GZIP) {
        try (InputStream g = new GZIPInputStream(new ByteArrayInputStream(src))) {
          return g.readNBytes(size);
        }
      }
      Decompressor d = switch (codec) {
        case SNAPPY -> new SnappyDecompressor();
        case ZSTD -> new ZstdDecompressor();
        case LZ4_RAW -> new Lz4Decompressor();
        default -> throw new IOException("compression codec " + codec + " is not supported (use snappy, zstd, gzip, lz4_raw or none)");
      };
      byte[] out = new byte[size];
      int n = d.decompress(src, 0, src.length, out, 0, size);
      if (n != size) throw new IOException("page decompressed to " + n + " bytes, header says " + size);
      return out;
    }
  }

  // ---- rows to JSON ----

  static JsonNode toJson(Group g, GroupType t, String where) {
    ObjectNode o = JSON.objectNode();
    for (int f = 0; f < t.getFieldCount(); f++) {
      Type ft = t.getType(f);
      int n = g.getFieldRepetitionCount(f);
      if (ft.isRepetition(Type.Repetition.REPEATED)) {
        ArrayNode a = o.putArray(ft.getName());
        for (int i = 0; i < n; i++) a.add(value(g, f, i, ft, where));
      } else {
        o.set(ft.getName(), n == 0 ? JSON.nullNode() : value(g, f, 0, ft, where));
      }
    }
    return o;
  }

  private static JsonNode value(Group g, int f, int i, Type t, String where) {
    if (t.isPrimitive()) return primitive(g, f, i, t.asPrimitiveType(), where);
    GroupType gt = t.asGroupType();
    Group inner = g.getGroup(f, i);
    LogicalTypeAnnotation ann = gt.getLogicalTypeAnnotation();
    if (ann instanceof LogicalTypeAnnotation.ListLogicalTypeAnnotation && gt.getFieldCount() == 1
        && gt.getType(0).isRepetition(Type.Repetition.REPEATED)) {
      Type rep = gt.getType(0);
      ArrayNode a = JSON.arrayNode();
      int n = inner.getFieldRepetitionCount(0);
      // 3-level list: repeated group with one field is the wrapper; else (legacy) the repeated field is the element.
      boolean wrapper = !rep.isPrimitive() && rep.asGroupType().getFieldCount() == 1
          && !rep.getName().equals("array") && !rep.getName().endsWith("_tuple");
      for (int k = 0; k < n; k++) {
        if (wrapper) {
          Group w = inner.getGroup(0, k);
          Type el = rep.asGroupType().getType(0);
          a.add(w.getFieldRepetitionCount(0) == 0 ? JSON.nullNode() : value(w, 0, 0, el, where));
        } else {
          a.add(value(inner, 0, k, rep, where));
        }
      }
      return a;
    }
    if (ann instanceof LogicalTypeAnnotation.MapLogicalTypeAnnotation && gt.getFieldCount() == 1 && !gt.getType(0).isPrimitive()) {
      ObjectNode m = JSON.objectNode();
      GroupType kv = gt.getType(0).asGroupType();
      for (int k = 0; k < inner.getFieldRepetitionCount(0); k++) {
        Group e = inner.getGroup(0, k);
        JsonNode key = value(e, 0, 0, kv.getType(0), where);
        m.set(key.isTextual() ? key.asText() : key.toString(),
            kv.getFieldCount() > 1 && e.getFieldRepetitionCount(1) > 0 ? value(e, 1, 0, kv.getType(1), where) : JSON.nullNode());
      }
      return m;
    }
    return toJson(inner, gt, where);
  }

  private static JsonNode primitive(Group g, int f, int i, PrimitiveType t, String where) {
    return switch (t.getPrimitiveTypeName()) {
      case BINARY, FIXED_LEN_BYTE_ARRAY -> t.getLogicalTypeAnnotation() == null ? bytes(g.getBinary(f, i))
          : JSON.textNode(utf8(g.getBinary(f, i), t.getName(), where));
      case INT32 -> JSON.numberNode(g.getInteger(f, i));
      case INT64 -> JSON.numberNode(g.getLong(f, i));
      case FLOAT -> JSON.numberNode(g.getFloat(f, i));
      case DOUBLE -> JSON.numberNode(g.getDouble(f, i));
      case BOOLEAN -> JSON.booleanNode(g.getBoolean(f, i));
      case INT96 -> JSON.textNode(g.getValueToString(f, i));
    };
  }

  /** Un-annotated binary (images, raw bytes): text when it is valid UTF-8, else null (not usable as text). */
  private static JsonNode bytes(Binary b) {
    byte[] bytes = b.getBytesUnsafe();
    return Utf8.firstInvalid(bytes, 0, bytes.length) >= 0 ? JSON.nullNode() : JSON.textNode(new String(bytes, StandardCharsets.UTF_8));
  }

  /** Strict UTF-8 for string columns, as for JSONL lines: invalid bytes are a bad record, never replaced silently. */
  private static String utf8(Binary b, String field, String where) {
    byte[] bytes = b.getBytesUnsafe();
    int bad = Utf8.firstInvalid(bytes, 0, bytes.length);
    if (bad >= 0) {
      throw new BadRecordException("invalid_utf8", where, String.format(Locale.ROOT,
          "field '%s' has invalid UTF-8 byte 0x%02x at byte %d", field, bytes[bad] & 0xff, bad));
    }
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
