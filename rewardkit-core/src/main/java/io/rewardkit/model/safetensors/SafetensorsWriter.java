package io.rewardkit.model.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.io.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes one safetensors file (F32 or BF16 tensors) atomically with {@link AtomicFiles} (temporary
 * sibling, fsync, rename, fsync of the directory), so a crash never leaves a torn file.
 * Tensors are laid out contiguously in list order; the header is padded with spaces to a multiple
 * of 8 bytes so the data region is aligned.
 */
public final class SafetensorsWriter {
  private SafetensorsWriter() {}

  /** Produces a tensor's values as float, {@code n} at a time from element {@code offset}. */
  public interface FloatSource { void read(long offset, float[] dst, int n); }

  /** A tensor to write. {@code dtype} is F32 or BF16 (BF16 rounds to nearest even). */
  public record TensorSpec(String name, StDType dtype, long[] shape, FloatSource source) {
    public TensorSpec {
      if (dtype != StDType.F32 && dtype != StDType.BF16) {
        throw new IllegalArgumentException("tensor '" + name + "': can only write F32 or BF16, not " + dtype);
      }
    }

    public long numel() {
      long n = 1;
      for (long d : shape) n = Math.multiplyExact(n, d);
      return n;
    }

    public long byteSize() { return numel() * dtype.bytes(); }
  }

  private static final int CHUNK = 1 << 20;

  /** Writes {@code tensors} to {@code file} (replacing it atomically). */
  public static void write(Path file, List<TensorSpec> tensors, Map<String, String> metadata) {
    byte[] header = header(tensors, metadata);
    try {
      AtomicFiles.writeChannel(file, ch -> {
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
        writeFully(ch, len);
        writeFully(ch, ByteBuffer.wrap(header));
        float[] vals = new float[CHUNK];
        ByteBuffer out = ByteBuffer.allocateDirect(CHUNK * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (TensorSpec t : tensors) {
          long total = t.numel();
          for (long start = 0; start < total; start += CHUNK) {
            int n = (int) Math.min(CHUNK, total - start);
            t.source().read(start, vals, n);
            out.clear();
            if (t.dtype() == StDType.F32) {
              out.asFloatBuffer().put(vals, 0, n);
              out.limit(4 * n);
            } else {
              for (int i = 0; i < n; i++) out.putShort(2 * i, floatToBf16(vals[i]));
              out.limit(2 * n);
            }
            writeFully(ch, out);
          }
        }
      });
    } catch (IOException e) {
      throw new RewardKitException(file + ": cannot write safetensors file: " + e.getMessage(), e);
    }
  }

  static byte[] header(List<TensorSpec> tensors, Map<String, String> metadata) {
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    if (metadata != null && !metadata.isEmpty()) {
      ObjectNode m = root.putObject("__metadata__");
      metadata.forEach(m::put);
    }
    Set<String> seen = new HashSet<>();
    long offset = 0;
    for (TensorSpec t : tensors) {
      if (!seen.add(t.name())) throw new IllegalArgumentException("duplicate tensor name '" + t.name() + "'");
      ObjectNode e = root.putObject(t.name());
      e.put("dtype", t.dtype().name());
      ArrayNode shape = e.putArray("shape");
      for (long d : t.shape()) shape.add(d);
      ArrayNode off = e.putArray("data_offsets");
      off.add(offset);
      offset += t.byteSize();
      off.add(offset);
    }
    byte[] json;
    try {
      json = new ObjectMapper().writeValueAsBytes(root);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    int padded = (json.length + 7) / 8 * 8;
    byte[] out = new byte[padded];
    System.arraycopy(json, 0, out, 0, json.length);
    for (int i = json.length; i < padded; i++) out[i] = ' ';
    return out;
  }

  /** float → bfloat16 bits, round to nearest even; NaN stays a quiet NaN. */
  public static short floatToBf16(float f) {
    int bits = Float.floatToRawIntBits(f);
    if ((bits & 0x7fffffff) > 0x7f800000) return (short) ((bits >>> 16) | 0x0040);
    int rounded = bits + 0x7fff + ((bits >>> 16) & 1);
    return (short) (rounded >>> 16);
  }

  private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) ch.write(b);
  }
}
