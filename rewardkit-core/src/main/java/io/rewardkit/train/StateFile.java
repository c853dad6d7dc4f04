package io.rewardkit.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The trainer's bit-exact state tensors (fp32 master weights, AdamW moments) in a safetensors file:
 * 8-byte little-endian header length, JSON header {name: {dtype, shape, data_offsets}}, raw data.
 * Only F32 tensors, on any backend's device (moved in chunks through {@link Backend#downloadFloats} /
 * {@link Backend#upload}); used for trainer state, not for model weights (the model writes those).
 */
final class StateFile {
  private StateFile() {}

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Elements moved per host round trip (4 MiB of floats), so a large embedding never needs one huge array. */
  private static final int CHUNK = 1 << 20;

  /** The flat span [begin, begin + n) of a tensor, for chunked transfers. */
  private static Tensor span(Tensor t, long begin, int n) { return t.reshape(t.numel()).view(begin, n); }

  static void write(Backend backend, Path file, Map<String, Tensor> tensors) throws IOException {
    ObjectNode header = JSON.createObjectNode();
    long offset = 0;
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      Tensor t = e.getValue();
      if (t.dtype() != DType.F32) throw new IllegalArgumentException("state tensor " + e.getKey() + " is " + t.dtype());
      ObjectNode n = header.putObject(e.getKey());
      n.put("dtype", "F32");
      var shape = n.putArray("shape");
      for (long d : t.shape()) shape.add(d);
      n.putArray("data_offsets").add(offset).add(offset + t.bytes());
      offset += t.bytes();
    }
    byte[] h = JSON.writeValueAsBytes(header);
    int pad = (8 - h.length % 8) % 8;
    byte[] hp = new byte[h.length + pad];
    System.arraycopy(h, 0, hp, 0, h.length);
    for (int i = h.length; i < hp.length; i++) hp[i] = ' ';
    try (OutputStream out = Files.newOutputStream(file)) {
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(hp.length);
      out.write(len.array());
      out.write(hp);
      ByteBuffer buf = ByteBuffer.allocate(CHUNK * 4).order(ByteOrder.LITTLE_ENDIAN);
      for (Tensor t : tensors.values()) {
        for (long pos = 0; pos < t.numel(); pos += CHUNK) {
          int n = (int) Math.min(CHUNK, t.numel() - pos);
          float[] f = backend.downloadFloats(span(t, pos, n));
          buf.clear();
          buf.asFloatBuffer().put(f);  // raw bits (NaN payloads included)
          out.write(buf.array(), 0, n * 4);
        }
      }
    }
  }

  /** Reads every tensor of the file into the given destinations (names and sizes must match exactly). */
  static void read(Backend backend, Path file, Map<String, Tensor> into) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, lenBuf, 0);
      long hlen = lenBuf.flip().getLong();
      if (hlen <= 0 || hlen > 100_000_000) throw new RewardKitException(file + ": bad safetensors header length " + hlen);
      ByteBuffer hb = ByteBuffer.allocate((int) hlen);
      readFully(ch, hb, 8);
      JsonNode header = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8));
      Map<String, Tensor> missing = new LinkedHashMap<>(into);
      for (var it = header.fields(); it.hasNext(); ) {
        var e = it.next();
        if (e.getKey().equals("__metadata__")) continue;
        Tensor t = missing.remove(e.getKey());
        if (t == null) throw new RewardKitException(file + ": unexpected tensor '" + e.getKey() + "' (model differs from the checkpoint?)");
        if (t.dtype() != DType.F32) throw new IllegalArgumentException("state tensor " + e.getKey() + " is " + t.dtype());
        long begin = e.getValue().get("data_offsets").get(0).asLong();
        long end = e.getValue().get("data_offsets").get(1).asLong();
        if (end - begin != t.bytes() || !"F32".equals(e.getValue().get("dtype").asText())) {
          throw new RewardKitException(file + ": tensor '" + e.getKey() + "' has " + (end - begin) + " bytes, expected " + t.bytes());
        }
        ByteBuffer data = ByteBuffer.allocate(CHUNK * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (long pos = 0; pos < t.numel(); pos += CHUNK) {
          int n = (int) Math.min(CHUNK, t.numel() - pos);
          data.clear().limit(n * 4);
          readFully(ch, data, 8 + hlen + begin + pos * 4);
          float[] f = new float[n];
          data.flip();
          data.asFloatBuffer().get(f);
          backend.upload(span(t, pos, n), f);
        }
      }
      if (!missing.isEmpty()) throw new RewardKitException(file + ": missing tensors " + missing.keySet());
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
    while (b.hasRemaining()) {
      int n = ch.read(b, pos + b.position());
      if (n < 0) throw new RewardKitException("unexpected end of file");
    }
  }
}
