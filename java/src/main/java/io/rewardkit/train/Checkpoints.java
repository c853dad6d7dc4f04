package io.rewardkit.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.PadToken;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Checkpoint directories {@code checkpoint-<step>} under the output directory. Each is written into
 * a temporary sibling ({@code .tmp-checkpoint-<step>}), fsynced and renamed into place, so a
 * directory with the final name is always complete; a kill mid-save leaves only a temporary
 * directory, which the next run deletes.
 */
public final class Checkpoints {
  private Checkpoints() {}

  public static final String MANIFEST = "rewardkit.json";
  public static final String TRAINER_STATE = "trainer_state.json";
  public static final String OPTIMIZER = "optimizer.safetensors";
  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");

  /** Writes a directory atomically: fill(tmp) writes the files, then tmp becomes target. */
  public static void writeAtomically(Path target, IoConsumer<Path> fill) throws IOException {
    Path parent = target.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path tmp = parent.resolve(".tmp-" + target.getFileName() + "-" + ProcessHandle.current().pid());
    deleteRecursively(tmp);
    Files.createDirectories(tmp);
    fill.accept(tmp);
    try (Stream<Path> files = Files.list(tmp)) {
      for (Path f : (Iterable<Path>) files::iterator) if (Files.isRegularFile(f)) fsync(f);
    }
    makeReadable(tmp);
    if (Files.exists(target)) {
      Path old = parent.resolve(".trash-" + target.getFileName() + "-" + System.nanoTime());
      Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
      deleteRecursively(old);
    }
    try {
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("file system cannot rename " + tmp + " atomically", e);
    }
    fsyncDir(parent);
  }

  public interface IoConsumer<T> { void accept(T t) throws IOException; }

  /** Complete checkpoints in outputDir, oldest first. */
  public static List<Path> list(Path outputDir) {
    if (!Files.isDirectory(outputDir)) return List.of();
    try (Stream<Path> s = Files.list(outputDir)) {
      return s.filter(p -> NAME.matcher(p.getFileName().toString()).matches())
          .filter(p -> Files.isRegularFile(p.resolve(TRAINER_STATE)))
          .sorted(Comparator.comparingLong(Checkpoints::stepOf)).toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static Optional<Path> latest(Path outputDir) {
    List<Path> all = list(outputDir);
    return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
  }

  public static long stepOf(Path checkpoint) {
    Matcher m = NAME.matcher(checkpoint.getFileName().toString());
    return m.matches() ? Long.parseLong(m.group(1)) : -1;
  }

  /** Deletes the oldest checkpoints so that at most keep remain (keep <= 0: keep all); also stale temporaries. */
  public static void prune(Path outputDir, int keep) throws IOException {
    List<Path> all = list(outputDir);
    for (int i = 0; keep > 0 && i < all.size() - keep; i++) {
      Path trash = outputDir.resolve(".trash-" + all.get(i).getFileName() + "-" + System.nanoTime());
      Files.move(all.get(i), trash, StandardCopyOption.ATOMIC_MOVE);  // gone from list() at once
      deleteRecursively(trash);
    }
  }

  /** Removes temporaries left by a killed run (.tmp-*, .trash-*). */
  public static void cleanStale(Path outputDir) throws IOException {
    if (!Files.isDirectory(outputDir)) return;
    try (Stream<Path> s = Files.list(outputDir)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        String n = p.getFileName().toString();
        if (n.startsWith(".tmp-") || n.startsWith(".trash-")) deleteRecursively(p);
      }
    }
  }

  /** Resolves a model argument: a checkpoint/model directory, or an output directory (its final model, else its latest checkpoint). */
  public static Path resolveModelDir(Path path) {
    if (Files.isRegularFile(path.resolve("config.json"))) return path;
    if (Files.isRegularFile(path.resolve("final/config.json"))) return path.resolve("final");
    Optional<Path> last = latest(path);
    if (last.isPresent()) return last.get();
    throw new RewardKitException(path + " is not a model directory (no config.json) nor a training output directory");
  }

  public static void writeJson(Path file, Object value) throws IOException {
    JSON.writeValue(file.toFile(), value);
  }

  public static ObjectNode readJson(Path file) {
    try {
      return (ObjectNode) JSON.readTree(file.toFile());
    } catch (IOException | ClassCastException e) {
      throw new RewardKitException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * transformers_version written into config.json when the input config had none: the transformers
   * release the export was checked against (tools/hf_parity.py goldens).
   */
  public static final String TRANSFORMERS_VERSION = "5.18.0";

  /**
   * Makes a saved config.json a sequence-classification config HF can load: architectures
   * [&lt;Family&gt;ForSequenceClassification], one label, {@code pad_token_id} = the export's pad token
   * (replacing the input's, which may be the EOS/readout token), transformers_version.
   */
  public static void patchHfConfig(Path configJson, PadToken pad) throws IOException {
    ObjectNode c = readJson(configJson);
    String type = c.path("model_type").asText("llama");
    String family = switch (type) {
      case "qwen2" -> "Qwen2";
      case "qwen3" -> "Qwen3";
      case "mistral" -> "Mistral";
      default -> "Llama";
    };
    c.putArray("architectures").add(family + "ForSequenceClassification");
    c.put("num_labels", 1);
    c.putObject("id2label").put("0", "LABEL_0");
    c.putObject("label2id").put("LABEL_0", 0);
    if (pad != null) c.put("pad_token_id", pad.id());
    if (!c.hasNonNull("transformers_version")) c.put("transformers_version", TRANSFORMERS_VERSION);
    writeJson(configJson, c);
  }

  /**
   * Makes the tokenizer files in dir agree with config.json: pad_token in tokenizer_config.json and
   * special_tokens_map.json, and tokenizer.json's padding block when it has one.
   */
  public static void patchTokenizerPad(Path dir, PadToken pad) throws IOException {
    if (pad == null) return;
    for (String f : List.of("tokenizer_config.json", "special_tokens_map.json")) {
      Path p = dir.resolve(f);
      if (!Files.isRegularFile(p)) continue;
      ObjectNode n = readJson(p);
      n.put("pad_token", pad.token());
      Files.delete(p);  // the copy may be read-only like its source
      writeJson(p, n);
    }
    Path tj = dir.resolve("tokenizer.json");
    if (Files.isRegularFile(tj)) {
      ObjectNode n = readJson(tj);
      if (n.get("padding") instanceof ObjectNode padding) {
        padding.put("pad_id", pad.id());
        padding.put("pad_token", pad.token());
        Files.delete(tj);
        JSON.writer().without(SerializationFeature.INDENT_OUTPUT).writeValue(tj.toFile(), n);
      }
    }
  }

  public static void copyFiles(Map<String, Path> files, Path dir) throws IOException {
    for (Map.Entry<String, Path> e : files.entrySet()) {
      if (Files.isRegularFile(e.getValue())) Files.copy(e.getValue(), dir.resolve(e.getKey()), StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** 0644 files and 0755 directories, as save_pretrained leaves them: a model others can read and serve. */
  static void makeReadable(Path root) throws IOException {
    if (!root.getFileSystem().supportedFileAttributeViews().contains("posix")) return;
    var file = PosixFilePermissions.fromString("rw-r--r--");
    var dir = PosixFilePermissions.fromString("rwxr-xr-x");
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : (Iterable<Path>) s::iterator) Files.setPosixFilePermissions(p, Files.isDirectory(p) ? dir : file);
    }
  }

  static void fsync(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
  }

  static void fsyncDir(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException ignored) {
      // Some file systems cannot open directories; the rename is still atomic there.
    }
  }

  public static void deleteRecursively(Path p) throws IOException {
    if (!Files.exists(p)) return;
    try (Stream<Path> s = Files.walk(p)) {
      for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
    }
  }
}
