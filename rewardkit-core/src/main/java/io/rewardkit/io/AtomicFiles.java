package io.rewardkit.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The one way RewardKit replaces a file or a directory that others read (checkpoints, models,
 * caches, metrics, reports, outputs). Readers see the old content or the complete new one, never a
 * torn write, also after a crash or power loss. The fsync policy, for files and directories alike:
 * <ol>
 *   <li>write into a temporary sibling ({@code .<name>.tmp-<pid>-<n>} unless the caller names it);
 *   <li>fsync its data (every file, and every directory, under a temporary directory);
 *   <li>rename it over the target (a directory target is first renamed aside to
 *       {@code .<name>.old-<pid>-<n>}, since POSIX cannot rename onto a non-empty directory, and
 *       deleted after the swap);
 *   <li>fsync the parent directory, so the rename itself is durable.
 * </ol>
 * A failure before the rename deletes the temporary and leaves the target untouched. Renames use
 * {@code ATOMIC_MOVE}; on a file system that refuses it a plain rename within the same directory is
 * used. Directories that cannot be opened for fsync (some file systems) are skipped. Errors are
 * thrown as {@link IOException}s; callers name what they were writing.
 */
public final class AtomicFiles {
  private AtomicFiles() {}

  /** An action that may fail with an I/O error. */
  public interface IoConsumer<T> { void accept(T t) throws IOException; }

  /** Replaces {@code file} with {@code text} in UTF-8. */
  public static void writeString(Path file, String text) throws IOException {
    writeBytes(file, text.getBytes(StandardCharsets.UTF_8));
  }

  /** Replaces {@code file} with {@code lines}, each followed by a newline, in UTF-8. */
  public static void writeLines(Path file, List<String> lines) throws IOException {
    write(file, out -> {
      for (String l : lines) {
        out.write(l.getBytes(StandardCharsets.UTF_8));
        out.write('\n');
      }
    });
  }

  /** Replaces {@code file} with {@code bytes}. */
  public static void writeBytes(Path file, byte[] bytes) throws IOException {
    write(file, out -> out.write(bytes));
  }

  /** Replaces {@code file} with what {@code body} writes to a (buffered) stream. */
  public static void write(Path file, IoConsumer<OutputStream> body) throws IOException {
    writeChannel(file, ch -> {
      OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
      body.accept(out);
      out.flush();  // not close(): the channel is closed (after fsync) by writeChannel
    });
  }

  /** Replaces {@code file} with what {@code body} writes to a fresh file channel (for bulk binary writers). */
  public static void writeChannel(Path file, IoConsumer<FileChannel> body) throws IOException {
    Path abs = file.toAbsolutePath();
    Path parent = abs.getParent();
    Files.createDirectories(parent);
    Path tmp = Files.createTempFile(parent, tempPrefix(abs), "");
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        body.accept(ch);
        ch.force(true);
      }
      rename(tmp, abs, true);
      tmp = null;
    } finally {
      if (tmp != null) Files.deleteIfExists(tmp);
    }
    fsyncDir(parent);
  }

  /** {@link #writeDirectory(Path, Path, IoConsumer)} with a temporary {@code .<name>.tmp-<pid>-<n>} beside {@code target}. */
  public static void writeDirectory(Path target, IoConsumer<Path> fill) throws IOException {
    Path abs = target.toAbsolutePath();
    Files.createDirectories(abs.getParent());
    Path tmp = Files.createTempDirectory(abs.getParent(), tempPrefix(abs));
    writeDirectory(abs, tmp, fill);
  }

  /**
   * Replaces the directory {@code target} with what {@code fill} writes into {@code tmp}, a sibling
   * of {@code target} that this creates (an existing one, left by a killed writer, is deleted first).
   */
  public static void writeDirectory(Path target, Path tmp, IoConsumer<Path> fill) throws IOException {
    Path abs = target.toAbsolutePath();
    Path parent = abs.getParent();
    tmp = tmp.toAbsolutePath();
    if (!parent.equals(tmp.getParent())) throw new IllegalArgumentException(tmp + " is not a sibling of " + abs);
    try {
      Files.createDirectories(parent);
      if (!Files.isDirectory(tmp) || isNonEmpty(tmp)) {
        deleteRecursively(tmp);
        Files.createDirectory(tmp);
      }
      fill.accept(tmp);
      try (Stream<Path> walk = Files.walk(tmp)) {
        for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
          if (Files.isDirectory(p)) fsyncDir(p);
          else if (Files.isRegularFile(p)) fsync(p);
        }
      }
      Path old = null;
      if (Files.exists(abs)) {
        old = Files.createTempDirectory(parent, "." + abs.getFileName() + ".old-" + ProcessHandle.current().pid() + "-");
        Files.delete(old);
        rename(abs, old, false);
      }
      rename(tmp, abs, false);
      tmp = null;
      fsyncDir(parent);
      if (old != null) deleteRecursively(old);
    } finally {
      if (tmp != null) deleteRecursively(tmp);
    }
  }

  /** Flushes a file's data and metadata to the device (opened for reading: a read-only copy is fsynced too). */
  public static void fsync(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  /** Flushes a directory's entries (after a rename in it); a no-op where directories cannot be opened. */
  public static void fsyncDir(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException ignored) {
      // Some file systems cannot open directories; the rename is still atomic there.
    }
  }

  /** Deletes a file or a directory tree; nothing when absent. */
  public static void deleteRecursively(Path p) throws IOException {
    if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
    try (Stream<Path> s = Files.walk(p)) {
      for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
    }
  }

  private static String tempPrefix(Path abs) {
    return "." + abs.getFileName() + ".tmp-" + ProcessHandle.current().pid() + "-";
  }

  private static boolean isNonEmpty(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.findAny().isPresent();
    }
  }

  private static void rename(Path from, Path to, boolean replace) throws IOException {
    try {
      if (replace) Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      else Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      if (replace) Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
      else Files.move(from, to);
    }
  }
}
