package io.rewardkit.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.model.safetensors.SafetensorsFile;
import io.rewardkit.model.safetensors.StDType;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/** The goldens of tools/trl_fidelity.py (java/src/test/resources/trl/): TRL's losses on a tiny Qwen2 policy. */
final class TrlGolden {
  static final Path DIR = dir();

  private static Path dir() {
    try {
      return Path.of(Objects.requireNonNull(TrlGolden.class.getResource("/trl/index.json")).toURI()).getParent();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static JsonNode index() throws IOException { return new ObjectMapper().readTree(DIR.resolve("index.json").toFile()); }

  static float[] floats(String file, String name) {
    try (SafetensorsFile st = SafetensorsFile.open(DIR.resolve(file))) {
      return st.readFloats(name);
    }
  }

  static boolean has(String file, String name) {
    try (SafetensorsFile st = SafetensorsFile.open(DIR.resolve(file))) {
      return st.entries().containsKey(name);
    }
  }

  static int[] ints(String file, String name) {
    Path p = DIR.resolve(file);
    try (SafetensorsFile st = SafetensorsFile.open(p); FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
      SafetensorsFile.Entry e = st.entry(name);
      assertEquals(StDType.I32, e.dtype(), p + ": " + name);
      ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(e.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
      while (b.hasRemaining()) if (ch.read(b, e.fileBegin() + b.position()) < 0) throw new IOException("short read");
      int[] out = new int[Math.toIntExact(e.numel())];
      b.flip().asIntBuffer().get(out);
      return out;
    } catch (IOException ex) {
      throw new RuntimeException(p + ": " + name, ex);
    }
  }

  /** The parameter names a task file has gradients for. */
  static java.util.Set<String> gradNames(String file) {
    try (SafetensorsFile st = SafetensorsFile.open(DIR.resolve(file))) {
      java.util.Set<String> out = new java.util.TreeSet<>();
      for (String k : st.entries().keySet()) if (k.startsWith("grad.")) out.add(k.substring(5));
      return out;
    }
  }

  /** Pair p's prompt, chosen and rejected token ids. */
  static int[][] pair(int p) {
    return new int[][] {ints("golden.safetensors", "prompt." + p), ints("golden.safetensors", "chosen." + p),
        ints("golden.safetensors", "rejected." + p)};
  }

  static int pairs() throws IOException { return index().get("pairs").asInt(); }

  private TrlGolden() {}
}
