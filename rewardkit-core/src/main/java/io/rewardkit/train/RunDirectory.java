package io.rewardkit.train;

import io.rewardkit.RewardKitException;
import io.rewardkit.io.AtomicFiles;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The output directory of a training run, held by one process at a time.
 *
 * <p>{@link #acquire} takes an exclusive lock on {@value #LOCK} inside the directory (the OS
 * releases it when the process dies, kill -9 included) and writes the holder's pid into it, so a
 * second writer fails at once naming the holder. {@link #begin} then decides what the run may do
 * with what is already there: a directory that holds a run (a checkpoint or a final model) is
 * continued only with --resume and replaced only with --overwrite_output_dir. An overwrite never
 * deletes first: the new run writes into a sibling staging directory, and {@link #promote} swaps
 * it in by renames once it has saved its first checkpoint; a new run that fails before that
 * leaves the old run as it was.
 */
public final class RunDirectory implements AutoCloseable {
  public static final String LOCK = ".rewardkit.lock";
  private static final String STAGING = ".overwrite-", REPLACED = ".replaced-";

  private final Path target;
  private final boolean createdTarget;
  private final List<Held> locks = new ArrayList<>();
  private Path work;
  private Path staging;
  private boolean started;  // begin() ran: this process created train_config.json / metrics.jsonl in work

  private record Held(FileChannel channel, FileLock lock) {}

  private RunDirectory(Path target, boolean createdTarget) {
    this.target = target;
    this.work = target;
    this.createdTarget = createdTarget;
  }

  /** Locks target (creating it when absent) or fails naming the process that holds it. */
  public static RunDirectory acquire(Path target) {
    Path t = target.toAbsolutePath().normalize();
    try {
      recoverInterruptedSwap(t);
      boolean created = !Files.exists(t);
      if (Files.exists(t) && !Files.isDirectory(t)) throw new RewardKitException("--output_dir " + target + " is a file, not a directory");
      Files.createDirectories(t);
      RunDirectory run = new RunDirectory(t, created);
      try {
        run.locks.add(lock(t, target));
      } catch (IOException | RuntimeException e) {
        if (created) {  // e.g. a full disk: leave no empty directory or lock file behind
          Files.deleteIfExists(t.resolve(LOCK));
          Files.deleteIfExists(t);
        }
        throw e;
      }
      return run;
    } catch (IOException e) {
      throw new RewardKitException("cannot use --output_dir " + target + ": " + e.getMessage(), e);
    }
  }

  private static Held lock(Path dir, Path shown) throws IOException {
    FileChannel ch = FileChannel.open(dir.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    FileLock l;
    try {
      l = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      l = null;  // held by this JVM
    }
    if (l == null) {
      String pid = holder(ch);
      ch.close();
      throw new RewardKitException("--output_dir " + shown + " is in use by another training run (pid " + pid
          + "); wait for it to finish or choose another --output_dir");
    }
    byte[] me = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII);
    ch.truncate(0);
    ch.write(ByteBuffer.wrap(me), 0);
    ch.force(true);
    return new Held(ch, l);
  }

  private static String holder(FileChannel ch) {
    try {
      ByteBuffer b = ByteBuffer.allocate(32);
      ch.read(b, 0);
      String s = new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).trim();
      return s.isEmpty() ? "unknown" : s;
    } catch (IOException e) {
      return "unknown";
    }
  }

  /** Where the run writes now: the output directory, or the staging directory of an overwrite until {@link #promote}. */
  public Path work() { return work; }

  public Path target() { return target; }

  /** Whether dir holds a run worth keeping: a checkpoint or a final model. */
  public static boolean holdsRun(Path dir) {
    return !Checkpoints.list(dir).isEmpty() || Files.isRegularFile(dir.resolve("final/config.json"));
  }

  /**
   * Starts (or continues) the run under the lock: refuses to start over an existing run unless
   * overwrite, removes temporaries of killed runs, and for a new run the metrics/config files of
   * an earlier one that stopped before its first checkpoint (saying so).
   */
  public void begin(boolean resume, boolean overwrite, String shownDir, PrintStream console) throws IOException {
    for (String n : Checkpoints.cleanStale(target)) console.println("  removed " + n + " (left by an interrupted run)");
    if (resume) {
      started = true;
      return;
    }
    if (holdsRun(target)) {
      if (!overwrite) {
        throw new RewardKitException("--output_dir " + shownDir + " already holds a run (" + describe(target)
            + "); continue it with --resume, or replace it with --overwrite_output_dir (the old run is kept until the new one"
            + " has saved its first checkpoint), or choose another --output_dir");
      }
      staging = target.resolveSibling("." + target.getFileName() + STAGING + ProcessHandle.current().pid());
      AtomicFiles.deleteRecursively(staging);
      Files.createDirectories(staging);
      locks.add(lock(staging, staging));
      work = staging;
      console.println("  --overwrite_output_dir: the run in " + shownDir + " (" + describe(target)
          + ") is replaced when this run saves its first checkpoint");
    } else {
      for (String f : List.of("metrics.jsonl", "train_config.json", "report")) {
        Path p = target.resolve(f);
        if (Files.exists(p)) {
          AtomicFiles.deleteRecursively(p);
          console.println("  removed " + f + " of an earlier run that stopped before its first checkpoint");
        }
      }
    }
    started = true;
  }

  private static String describe(Path dir) {
    List<Path> cks = Checkpoints.list(dir);
    List<String> parts = new ArrayList<>();
    if (!cks.isEmpty()) parts.add(cks.get(cks.size() - 1).getFileName() + (cks.size() > 1 ? " and " + (cks.size() - 1) + " older" : ""));
    if (Files.isDirectory(dir.resolve("final"))) parts.add("final/");
    return String.join(", ", parts);
  }

  /** True while the run writes into a staging directory that still has to replace the old run. */
  public boolean staged() { return staging != null && work.equals(staging); }

  /**
   * Overwrite: after the new run's first checkpoint, swaps it in (rename the old run aside, rename
   * the staging directory to the output directory, delete the old run). Open files (metrics.jsonl)
   * follow the rename. No-op otherwise.
   */
  public void promote(PrintStream console) throws IOException {
    if (!staged()) return;
    Path old = target.resolveSibling("." + target.getFileName() + REPLACED + ProcessHandle.current().pid());
    AtomicFiles.deleteRecursively(old);
    Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
    Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
    AtomicFiles.fsyncDir(target.getParent());
    work = target;
    AtomicFiles.deleteRecursively(old);
    console.println("  replaced the previous run in " + target + " with this one (first checkpoint saved)");
  }

  /**
   * A kill between promote()'s two renames leaves no output directory, the old run renamed aside
   * and the new one complete in staging: finish the swap. Staging directories of dead overwrites
   * that never saved a checkpoint are deleted (their old run is untouched).
   */
  private static void recoverInterruptedSwap(Path t) throws IOException {
    Path parent = t.getParent();
    if (parent == null || !Files.isDirectory(parent)) return;
    String stagingPrefix = "." + t.getFileName() + STAGING, replacedPrefix = "." + t.getFileName() + REPLACED;
    List<Path> stagings = new ArrayList<>(), replaced = new ArrayList<>();
    try (Stream<Path> s = Files.list(parent)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        String n = p.getFileName().toString();
        if (n.startsWith(stagingPrefix)) stagings.add(p);
        else if (n.startsWith(replacedPrefix)) replaced.add(p);
      }
    }
    for (Path st : stagings) {
      if (!Files.isDirectory(st) || inUse(st)) continue;
      if (!Files.exists(t) && holdsRun(st)) Files.move(st, t, StandardCopyOption.ATOMIC_MOVE);
      else AtomicFiles.deleteRecursively(st);
    }
    for (Path r : replaced) {
      if (inUse(r)) continue;
      if (!Files.exists(t)) Files.move(r, t, StandardCopyOption.ATOMIC_MOVE);  // swap never started its second rename
      else AtomicFiles.deleteRecursively(r);
    }
  }

  private static boolean inUse(Path dir) {
    Path lockFile = dir.resolve(LOCK);
    if (!Files.exists(lockFile)) return false;
    try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
      FileLock l = ch.tryLock();
      if (l == null) return true;
      l.release();
      return false;
    } catch (OverlappingFileLockException e) {
      return true;
    } catch (IOException e) {
      return true;  // cannot tell: leave it alone
    }
  }

  /**
   * Ends a failed run: an overwrite's staging directory is deleted (the old run stays as it was);
   * a new run that saved no checkpoint removes what it wrote, and the directory if it made it.
   */
  public void abandon() {
    try {
      if (staged()) {
        AtomicFiles.deleteRecursively(staging);
      } else if (started && !holdsRun(target)) {
        for (String f : List.of("metrics.jsonl", "train_config.json", "report")) AtomicFiles.deleteRecursively(target.resolve(f));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Releases the lock; removes the output directory again if this process created it and left nothing in it. */
  @Override
  public void close() {
    for (Held h : locks) {
      try {
        h.lock().release();
        h.channel().close();
      } catch (IOException ignored) {
        // closing a lock file cannot lose data
      }
    }
    locks.clear();
    if (staging != null && Files.exists(staging) && !work.equals(target)) {
      try {
        AtomicFiles.deleteRecursively(staging);
      } catch (IOException ignored) {
        // removed at the next start (recoverInterruptedSwap)
      }
    }
    if (createdTarget) {
      try (Stream<Path> s = Files.list(target)) {
        if (s.allMatch(p -> p.getFileName().toString().equals(LOCK))) {
          Files.deleteIfExists(target.resolve(LOCK));
          Files.deleteIfExists(target);
        }
      } catch (IOException ignored) {
        // leave it
      }
    }
  }
}
