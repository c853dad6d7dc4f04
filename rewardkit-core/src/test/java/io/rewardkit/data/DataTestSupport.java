package io.rewardkit.data;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;

/** Small helpers: write test files, find ../shared (skipping with a message when absent). */
final class DataTestSupport {
  private DataTestSupport() {}

  static Path shared() {
    String prop = System.getProperty("rewardkit.shared");
    Path p = prop == null ? null : Path.of(prop);
    assumeTrue(p != null && Files.isDirectory(p.resolve("fixtures/tokenizers/qwen3")),
        "skipped: ../shared (rewardkit.shared=" + prop + ") with the Qwen3 tokenizer fixture is absent");
    return p;
  }

  static Path qwen3Dir() { return shared().resolve("fixtures/tokenizers/qwen3"); }

  static Path hhPairs() {
    Path p = shared().resolve("data/hh-rlhf-harmless/pairs-2000.jsonl");
    assumeTrue(Files.isRegularFile(p), "skipped: " + p + " is absent");
    return p;
  }

  static Path write(Path dir, String name, String... lines) throws IOException {
    Path p = dir.resolve(name);
    Files.createDirectories(p.getParent());
    Files.writeString(p, String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
    return p;
  }

  static Path writeBytes(Path dir, String name, byte[] bytes) throws IOException {
    Path p = dir.resolve(name);
    Files.write(p, bytes);
    return p;
  }

  static Path writeGzip(Path dir, String name, String... lines) throws IOException {
    Path p = dir.resolve(name);
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(p))) {
      out.write((String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
    }
    return p;
  }

  static DataOptions skip() { return DataOptions.defaults().withOnBadRecord(DataOptions.OnBadRecord.SKIP); }

  static EncodedDataset load(DataOptions o, Path... files) {
    return DataPipeline.load(List.of(files), o, new ByteTokenizer());
  }

  static String decode(int[] ids) { return new ByteTokenizer().decode(ids); }
}
