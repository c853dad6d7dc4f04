package io.rewardkit.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
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
 * Only F32 host tensors; used for trainer state, not for model weights (the model writes those).
 */
final class StateFile {
  private StateFile() {}

  private static final ObjectMapper JSON = new ObjectMapper();

  static void write(Path file, Map<String, Tensor> tensors) throws IOException {
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
      byte[] buf = new byte[1 << 20];
      for (Tensor t : tensors.values()) {
        var p = t.bytePointer();
        for (long pos = 0; pos < t.bytes(); pos += buf.length) {
          int n = (int) Math.min(buf.length, t.bytes() - pos);
          p.position(t.offset() * t.dtype().bytes() + pos).get(buf, 0, n);
          out.write(buf, 0, n);
        }
      }
    }
  }

  /** Reads every tensor of the file into the given destinations (names and sizes must match exactly). */
  static void read(Path file, Map<String, Tensor> into) throws IOException {
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
        long begin = e.getValue().get("data_offsets").get(0).asLong();
        long end = e.getValue().get("data_offsets").get(1).asLong();
        if (end - begin != t.bytes() || !"F32".equals(e.getValue().get("dtype").asText())) {
          throw new RewardKitException(file + ": tensor '" + e.getKey() + "' has " + (end - begin) + " bytes, expected " + t.bytes());
        }
        ByteBuffer data = ByteBuffer.allocate((int) (end - begin));
        readFully(ch, data, 8 + hlen + begin);
        t.bytePointer().put(data.array(), 0, data.capacity());
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
