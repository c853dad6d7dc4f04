package io.rewardkit.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one atomic writer: a write that fails part-way leaves the old content and no temporary behind. */
class AtomicFilesTest {
  @TempDir Path tmp;

  private List<String> names(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test void fileIsReplacedWhole() throws IOException {
    Path f = tmp.resolve("sub/out.json");
    AtomicFiles.writeString(f, "old");
    AtomicFiles.writeLines(f, List.of("a", "b"));
    assertEquals("a\nb\n", Files.readString(f));
    assertEquals(List.of("out.json"), names(f.getParent()));
  }

  @Test void failureMidWriteKeepsTheOldFileAndLeavesNoPartialOne() throws IOException {
    Path f = tmp.resolve("metrics.jsonl");
    AtomicFiles.writeString(f, "old content\n");
    IOException boom = new IOException("disk full");
    IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(f, out -> {
      out.write("half of the new con".getBytes(StandardCharsets.UTF_8));
      out.flush();
      throw boom;
    }));
    assertEquals(boom, e);
    assertEquals("old content\n", Files.readString(f));
    assertEquals(List.of("metrics.jsonl"), names(tmp));
  }

  @Test void failureOfAFirstWriteLeavesNothing() {
    Path f = tmp.resolve("new.bin");
    assertThrows(IOException.class, () -> AtomicFiles.writeChannel(f, ch -> {
      ch.write(java.nio.ByteBuffer.wrap(new byte[100]));
      throw new IOException("no space left on device");
    }));
    assertFalse(Files.exists(f));
    assertTrue(tmp.toFile().list().length == 0);
  }

  @Test void directoryIsReplacedWhole() throws IOException {
    Path d = tmp.resolve("model");
    AtomicFiles.writeDirectory(d, dir -> {
      Files.writeString(dir.resolve("config.json"), "v1");
      Files.writeString(dir.resolve("stale.txt"), "only in v1");
    });
    AtomicFiles.writeDirectory(d, dir -> {
      Files.createDirectories(dir.resolve("nested"));
      Files.writeString(dir.resolve("nested/config.json"), "v2");
    });
    assertEquals(List.of("nested"), names(d));
    assertEquals("v2", Files.readString(d.resolve("nested/config.json")));
    assertEquals(List.of("model"), names(tmp));  // no .model.tmp-* or .model.old-* left
  }

  @Test void failureMidDirectoryWriteKeepsTheOldDirectoryAndLeavesNoTemporary() throws IOException {
    Path d = tmp.resolve("checkpoint-10");
    AtomicFiles.writeDirectory(d, dir -> Files.writeString(dir.resolve("a.safetensors"), "old"));
    RuntimeException e = assertThrows(RuntimeException.class, () -> AtomicFiles.writeDirectory(d, dir -> {
      Files.writeString(dir.resolve("a.safetensors"), "new, half writ");
      throw new IllegalStateException("killed mid-save");
    }));
    assertEquals("killed mid-save", e.getMessage());
    assertEquals("old", Files.readString(d.resolve("a.safetensors")));
    assertEquals(List.of("checkpoint-10"), names(tmp));
  }

  @Test void readOnlyFilesInADirectoryAreFsyncedToo() throws IOException {
    Path d = tmp.resolve("cache");
    AtomicFiles.writeDirectory(d, dir -> {
      Path f = Files.writeString(dir.resolve("tokenizer.json"), "{}");
      assertTrue(f.toFile().setReadOnly());  // as a copy of a read-only tokenizer file is
    });
    assertEquals("{}", Files.readString(d.resolve("tokenizer.json")));
  }

  @Test void aNamedTemporaryLeftByAKilledWriterIsStartedAfresh() throws IOException {
    Path d = tmp.resolve("final");
    Path left = tmp.resolve(".tmp-final-42");
    Files.createDirectories(left);
    Files.writeString(left.resolve("partial.bin"), "from the killed run");
    AtomicFiles.writeDirectory(d, left, dir -> Files.writeString(dir.resolve("config.json"), "{}"));
    assertEquals(List.of("config.json"), names(d));
    assertEquals(List.of("final"), names(tmp));
    assertThrows(IllegalArgumentException.class, () -> AtomicFiles.writeDirectory(d, tmp.resolve("x/.tmp"), dir -> { }));
  }
}
