package io.rewardkit.model.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.RewardKitException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A validated, memory-mapped safetensors file: {@code u64 little-endian header length N}, N bytes
 * of JSON header ({@code name -> {dtype, shape, data_offsets: [begin, end)}} plus optional
 * {@code __metadata__}), then the data region the offsets index.
 *
 * <p>The header is checked completely when the file is opened, so a truncated or lying file fails
 * here with the file and tensor named, never later as garbage weights: header length within the
 * cap and the file, well-formed JSON, known dtype, non-negative integer shape, {@code numel × size
 * == end − begin}, offsets inside the data region, no overlaps, no gaps, and the data region
 * exactly covered (HF's own reader enforces the same). Reads map only the bytes they convert.
 */
public final class SafetensorsFile implements AutoCloseable {

  /** Largest header accepted (the reference implementation uses the same 100 MB cap). */
  public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

  /** One tensor of the header; offsets are absolute in the file. */
  public record Entry(String name, StDType dtype, long[] shape, long fileBegin, long fileEnd) {
    public long numel() {
      long n = 1;
      for (long d : shape) n = Math.multiplyExact(n, d);
      return n;
    }

    public long byteSize() { return fileEnd - fileBegin; }
  }

  private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  /** Elements converted per mapping (bounds the float[]/mapped window a read touches at once). */
  private static final int CHUNK = 1 << 22;

  private final Path path;
  private final FileChannel channel;
  private final Map<String, Entry> entries;
  private final Map<String, String> metadata;

  private SafetensorsFile(Path path, FileChannel channel, Map<String, Entry> entries, Map<String, String> metadata) {
    this.path = path;
    this.channel = channel;
    this.entries = entries;
    this.metadata = metadata;
  }

  /** Opens and validates a file; every problem is a {@link RewardKitException} naming the file. */
  public static SafetensorsFile open(Path path) {
    FileChannel ch;
    try {
      ch = FileChannel.open(path, StandardOpenOption.READ);
    } catch (IOException e) {
      throw new RewardKitException(path + ": cannot open safetensors file: " + e.getMessage(), e);
    }
    try {
      long fileSize = ch.size();
      if (fileSize < 8) throw bad(path, "file is " + fileSize + " bytes, shorter than the 8-byte header length");
      ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, lenBuf, 0);
      long headerLen = lenBuf.flip().getLong();
      if (headerLen < 0 || headerLen > MAX_HEADER_BYTES) {
        throw bad(path, "header length " + Long.toUnsignedString(headerLen) + " exceeds the " + MAX_HEADER_BYTES + "-byte cap");
      }
      if (8 + headerLen > fileSize) {
        throw bad(path, "truncated: header length says " + headerLen + " bytes but only " + (fileSize - 8) + " follow");
      }
      ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
      readFully(ch, hb, 8);
      String headerText = new String(hb.array(), StandardCharsets.UTF_8);
      long dataStart = 8 + headerLen;
      long dataLen = fileSize - dataStart;
      Map<String, String> meta = new LinkedHashMap<>();
      Map<String, Entry> entries = parseHeader(path, headerText, dataStart, dataLen, meta);
      return new SafetensorsFile(path, ch, entries, meta);
    } catch (RuntimeException e) {
      closeQuietly(ch);
      throw e;
    } catch (IOException e) {
      closeQuietly(ch);
      throw new RewardKitException(path + ": cannot read: " + e.getMessage(), e);
    }
  }

  private static Map<String, Entry> parseHeader(Path path, String text, long dataStart, long dataLen,
      Map<String, String> meta) {
    JsonNode root;
    try {
      root = JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw bad(path, "header is not valid JSON: " + e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) throw bad(path, "header is not a JSON object");
    List<Entry> list = new ArrayList<>();
    Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      String name = e.getKey();
      JsonNode n = e.getValue();
      if (name.equals("__metadata__")) {
        if (!n.isObject()) throw bad(path, "__metadata__ must be an object of strings");
        n.properties().forEach(m -> {
          if (!m.getValue().isTextual()) throw bad(path, "__metadata__." + m.getKey() + " must be a string");
          meta.put(m.getKey(), m.getValue().textValue());
        });
        continue;
      }
      if (!n.isObject()) throw badTensor(path, name, "entry is not an object");
      JsonNode dt = n.get("dtype");
      if (dt == null || !dt.isTextual()) throw badTensor(path, name, "missing dtype");
      StDType dtype = StDType.parse(dt.textValue());
      if (dtype == null) throw badTensor(path, name, "unknown dtype '" + dt.textValue() + "'");
      JsonNode sh = n.get("shape");
      if (sh == null || !sh.isArray()) throw badTensor(path, name, "missing shape");
      long[] shape = new long[sh.size()];
      for (int i = 0; i < shape.length; i++) {
        JsonNode d = sh.get(i);
        if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0) {
          throw badTensor(path, name, "shape " + sh + " is not a list of non-negative integers");
        }
        shape[i] = d.longValue();
      }
      JsonNode off = n.get("data_offsets");
      if (off == null || !off.isArray() || off.size() != 2) throw badTensor(path, name, "data_offsets must be [begin, end]");
      for (JsonNode o : off) {
        if (!o.isIntegralNumber() || !o.canConvertToLong() || o.longValue() < 0) {
          throw badTensor(path, name, "data_offsets " + off + " are not non-negative integers");
        }
      }
      long begin = off.get(0).longValue(), end = off.get(1).longValue();
      if (end < begin) throw badTensor(path, name, "data_offsets " + off + " end before begin");
      long numel;
      long expectBytes;
      try {
        numel = 1;
        for (long d : shape) numel = Math.multiplyExact(numel, d);
        expectBytes = Math.multiplyExact(numel, (long) dtype.bytes());
      } catch (ArithmeticException ex) {
        throw badTensor(path, name, "shape " + Arrays.toString(shape) + " overflows");
      }
      if (expectBytes != end - begin) {
        throw badTensor(path, name, "shape " + Arrays.toString(shape) + " x " + dtype + " is " + expectBytes
            + " bytes but data_offsets " + off + " span " + (end - begin));
      }
      if (end > dataLen) {
        throw badTensor(path, name, "data_offsets " + off + " run past the end of the data region (" + dataLen
            + " bytes; file truncated or offsets wrong)");
      }
      list.add(new Entry(name, dtype, shape, dataStart + begin, dataStart + end));
    }
    // Tensors must tile the data region: sorted by begin, each starts where the previous ended.
    List<Entry> sorted = new ArrayList<>(list);
    sorted.sort(Comparator.comparingLong(Entry::fileBegin).thenComparingLong(Entry::fileEnd));
    long cursor = dataStart;
    Entry prev = null;
    for (Entry e : sorted) {
      if (e.fileBegin() < cursor) {
        throw badTensor(path, e.name(), "data overlaps tensor '" + prev.name() + "'");
      }
      if (e.fileBegin() > cursor) {
        throw badTensor(path, e.name(), "gap of " + (e.fileBegin() - cursor) + " unreferenced bytes before its data");
      }
      cursor = e.fileEnd();
      prev = e;
    }
    if (cursor != dataStart + dataLen) {
      throw bad(path, (dataStart + dataLen - cursor) + " bytes of data after the last tensor are not described by the header");
    }
    Map<String, Entry> byName = new LinkedHashMap<>();
    for (Entry e : list) byName.put(e.name(), e);
    return byName;
  }

  private static RewardKitException bad(Path path, String what) {
    return new RewardKitException(path + ": invalid safetensors file: " + what);
  }

  private static RewardKitException badTensor(Path path, String tensor, String what) {
    return new RewardKitException(path + ": invalid safetensors file: tensor '" + tensor + "': " + what);
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
    while (buf.hasRemaining()) {
      int n = ch.read(buf, pos);
      if (n < 0) throw new IOException("unexpected end of file");
      pos += n;
    }
  }

  private static void closeQuietly(FileChannel ch) {
    try {
      ch.close();
    } catch (IOException ignored) {
      // already failing; the original error matters
    }
  }

  public Path path() { return path; }

  /** Tensors in header order. */
  public Map<String, Entry> entries() { return Collections.unmodifiableMap(entries); }

  public Map<String, String> metadata() { return Collections.unmodifiableMap(metadata); }

  public Entry entry(String name) {
    Entry e = entries.get(name);
    if (e == null) throw new RewardKitException(path + ": no tensor '" + name + "'");
    return e;
  }

  /** Receives converted values chunk by chunk: {@code n} values for elements [offset, offset + n). */
  public interface FloatSink { void accept(long offset, float[] values, int n); }

  public interface DoubleSink { void accept(long offset, double[] values, int n); }

  /** Streams a tensor's values converted to float, in chunks (F32, F16, BF16, F64 sources). */
  public void readFloats(String name, FloatSink sink) {
    Entry e = readable(name);
    long total = e.numel();
    float[] buf = new float[(int) Math.min(total, CHUNK)];
    for (long start = 0; start < total; start += CHUNK) {
      int n = (int) Math.min(CHUNK, total - start);
      ByteBuffer bb = map(e, start, n);
      switch (e.dtype()) {
        case F32 -> bb.asFloatBuffer().get(buf, 0, n);
        case BF16 -> { for (int i = 0; i < n; i++) buf[i] = bf16ToFloat(bb.getShort(2 * i)); }
        case F16 -> { for (int i = 0; i < n; i++) buf[i] = f16ToFloat(bb.getShort(2 * i)); }
        case F64 -> { for (int i = 0; i < n; i++) buf[i] = (float) bb.getDouble(8 * i); }
        default -> throw new IllegalStateException();
      }
      sink.accept(start, buf, n);
    }
  }

  /** Streams a tensor's values converted to double (exact for every readable source dtype). */
  public void readDoubles(String name, DoubleSink sink) {
    Entry e = readable(name);
    long total = e.numel();
    double[] buf = new double[(int) Math.min(total, CHUNK)];
    for (long start = 0; start < total; start += CHUNK) {
      int n = (int) Math.min(CHUNK, total - start);
      ByteBuffer bb = map(e, start, n);
      switch (e.dtype()) {
        case F32 -> { for (int i = 0; i < n; i++) buf[i] = bb.getFloat(4 * i); }
        case BF16 -> { for (int i = 0; i < n; i++) buf[i] = bf16ToFloat(bb.getShort(2 * i)); }
        case F16 -> { for (int i = 0; i < n; i++) buf[i] = f16ToFloat(bb.getShort(2 * i)); }
        case F64 -> bb.asDoubleBuffer().get(buf, 0, n);
        default -> throw new IllegalStateException();
      }
      sink.accept(start, buf, n);
    }
  }

  /** The whole tensor as float (small tensors and tests). */
  public float[] readFloats(String name) {
    Entry e = readable(name);
    float[] out = new float[Math.toIntExact(e.numel())];
    readFloats(name, (off, v, n) -> System.arraycopy(v, 0, out, (int) off, n));
    return out;
  }

  private Entry readable(String name) {
    Entry e = entry(name);
    if (!e.dtype().readableAsFloat()) {
      throw new RewardKitException(path + ": tensor '" + name + "' has dtype " + e.dtype() + "; expected F32, BF16 or F16");
    }
    return e;
  }

  private ByteBuffer map(Entry e, long firstElement, int n) {
    int size = e.dtype().bytes();
    try {
      MappedByteBuffer mb = channel.map(FileChannel.MapMode.READ_ONLY, e.fileBegin() + firstElement * size, (long) n * size);
      return mb.order(ByteOrder.LITTLE_ENDIAN);
    } catch (IOException ex) {
      throw new RewardKitException(path + ": cannot map tensor '" + e.name() + "': " + ex.getMessage(), ex);
    }
  }

  static float bf16ToFloat(short bits) {
    return Float.intBitsToFloat((bits & 0xffff) << 16);
  }

  /** IEEE half to float, subnormals, infinities and NaN included. */
  static float f16ToFloat(short h) {
    int bits = h & 0xffff;
    int sign = (bits >>> 15) << 31;
    int exp = (bits >>> 10) & 0x1f;
    int mant = bits & 0x3ff;
    if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    if (exp == 0) {
      if (mant == 0) return Float.intBitsToFloat(sign);
      float v = mant * 0x1p-24f; // subnormal: mant · 2^-24
      return sign != 0 ? -v : v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  @Override
  public void close() {
    closeQuietly(channel);
  }
}
