package io.rewardkit.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.PadToken;
import io.rewardkit.io.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Checkpoint directories {@code checkpoint-<step>} under the output directory. Each is written into
 * a temporary sibling ({@code .tmp-checkpoint-<step>-<pid>}) and replaced with {@link AtomicFiles}, so a
 * directory with the final name is always complete; a kill mid-save leaves only a temporary
 * directory, which the next run deletes. Every directory written this way carries
 * {@value #CHECKSUMS}: each file's size and SHA-256, so a later reader can tell a damaged
 * checkpoint (truncated, bit-flipped, file missing) from an intact one ({@link #verify}).
 */
public final class Checkpoints {
  private Checkpoints() {}

  public static final String MANIFEST = "rewardkit.json";
  public static final String TRAINER_STATE = "trainer_state.json";
  public static final String OPTIMIZER = "optimizer.safetensors";
  /** Size and SHA-256 of every other file of an atomically written directory. */
  public static final String CHECKSUMS = "checksums.json";
  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");

  /**
   * Writes a directory with {@link AtomicFiles#writeDirectory}: fill(tmp) writes the files, then
   * {@value #CHECKSUMS} is added, permissions are made readable, and tmp becomes target.
   */
  public static void writeAtomically(Path target, IoConsumer<Path> fill) throws IOException {
    Path parent = target.toAbsolutePath().getParent();
    Path tmp = parent.resolve(".tmp-" + target.getFileName() + "-" + ProcessHandle.current().pid());
    try {
      AtomicFiles.writeDirectory(target, tmp, dir -> {
        fill.accept(dir);
        writeChecksums(dir);
        makeReadable(dir);
      });
    } catch (IOException | RuntimeException e) {
      Throwable io = e;
      while (io != null && !(io instanceof IOException)) io = io.getCause();
      if (io == null) throw e;
      Throwable root = io;
      while (root.getCause() != null) root = root.getCause();
      // name the directory being written, not its temporary
      throw new RewardKitException("cannot write " + target + ": " + (root.getMessage() == null ? "I/O error" : root.getMessage()), e);
    }
  }

  public interface IoConsumer<T> { void accept(T t) throws IOException; }

  /** Writes {@value #CHECKSUMS}: {"files": {relative path: {"size": bytes, "sha256": hex}}} for every regular file under dir. */
  static void writeChecksums(Path dir) throws IOException {
    Map<String, Object> files = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path f : (Iterable<Path>) walk::iterator) {
        if (!Files.isRegularFile(f) || f.getFileName().toString().equals(CHECKSUMS)) continue;
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("size", Files.size(f));
        e.put("sha256", sha256(f));
        files.put(dir.relativize(f).toString().replace('\\', '/'), e);
      }
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("algorithm", "sha256");
    m.put("files", files);
    JSON.writeValue(dir.resolve(CHECKSUMS).toFile(), m);
  }

  /**
   * Checks dir against its {@value #CHECKSUMS}; returns what is wrong (naming the file), or empty
   * when every listed file has its recorded size and SHA-256. A directory written before checksums
   * existed has nothing to check against: {@link #LEGACY} is returned for it.
   */
  public static Optional<String> verify(Path dir) {
    Path sums = dir.resolve(CHECKSUMS);
    if (!Files.isRegularFile(sums)) return Optional.of(LEGACY);
    ObjectNode files;
    try {
      JsonNode root = JSON.readTree(sums.toFile());
      if (root == null || !(root.get("files") instanceof ObjectNode f)) return Optional.of(CHECKSUMS + " is damaged (no file list)");
      files = f;
    } catch (IOException e) {
      return Optional.of(CHECKSUMS + " is damaged (not valid JSON)");
    }
    for (var it = files.fields(); it.hasNext(); ) {
      var e = it.next();
      Path f = dir.resolve(e.getKey());
      long size = e.getValue().path("size").asLong(-1);
      String sha = e.getValue().path("sha256").asText("");
      try {
        if (!Files.isRegularFile(f)) return Optional.of(e.getKey() + " is missing");
        long actual = Files.size(f);
        if (actual != size) {
          return Optional.of(e.getKey() + " has " + actual + " bytes, expected " + size + (actual < size ? " (truncated)" : ""));
        }
        if (!sha256(f).equals(sha)) return Optional.of(e.getKey() + " content differs from its recorded SHA-256 (corrupted)");
      } catch (IOException x) {
        return Optional.of(e.getKey() + " cannot be read (" + x.getMessage() + ")");
      }
    }
    return Optional.empty();
  }

  /** {@link #verify}'s answer for a directory without {@value #CHECKSUMS} (written by RewardKit before 0.2). */
  public static final String LEGACY = "no " + CHECKSUMS + " (written by an older RewardKit): not verified";

  static String sha256(Path f) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    try (InputStream in = Files.newInputStream(f)) {
      byte[] buf = new byte[1 << 20];
      for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
    }
    return HexFormat.of().formatHex(md.digest());
  }

  /**
   * The newest checkpoint of outputDir that passes {@link #verify}; each damaged newer one is
   * reported on console (file, what is wrong) and skipped. Empty when none is intact.
   */
  public static Optional<Path> newestIntact(Path outputDir, java.io.PrintStream console) {
    List<Path> all = list(outputDir);
    for (int i = all.size() - 1; i >= 0; i--) {
      Path c = all.get(i);
      Optional<String> bad = verify(c);
      if (bad.isEmpty()) return Optional.of(c);
      if (bad.get().equals(LEGACY)) {
        console.println("  " + c.getFileName() + ": " + LEGACY);
        return Optional.of(c);
      }
      console.println("  " + c + " is damaged: " + bad.get() + "; "
          + (i > 0 ? "falling back to " + all.get(i - 1).getFileName() : "no older checkpoint"));
    }
    return Optional.empty();
  }

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

  /**
   * Temporaries of atomic writes: {@code .tmp-X-<pid>} (checkpoints), {@code .trash-X-<n>} (prune) and
   * {@link AtomicFiles}' {@code .<X>.tmp-<pid>-<n>} / {@code .<X>.old-<pid>-<n>} siblings (which, inside a
   * checkpoint's temporary directory, become {@code ..tmp-...}); {@code X.json(l).tmp-<pid>} are those of
   * earlier versions.
   */
  private static final Pattern STALE = Pattern.compile("\\.(tmp|trash)-.*|\\..*\\.(tmp|old)-.*|[^/]*\\.jsonl?\\.tmp-\\d+");

  /**
   * Removes temporaries left by a killed run. Only called by the holder of the output directory's
   * lock ({@link RunDirectory}), so none of them belongs to a live writer.
   */
  public static List<String> cleanStale(Path outputDir) throws IOException {
    List<String> removed = new ArrayList<>();
    if (!Files.isDirectory(outputDir)) return removed;
    try (Stream<Path> s = Files.list(outputDir)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        String n = p.getFileName().toString();
        if (STALE.matcher(n).matches() && !n.equals(RunDirectory.LOCK)) {
          deleteRecursively(p);
          removed.add(n);
        }
      }
    }
    return removed;
  }

  /** Resolves a model argument: a checkpoint/model directory, or an output directory (its final model, else its latest checkpoint). */
  public static Path resolveModelDir(Path path) {
    if (isModelDir(path)) return path;
    if (isModelDir(path.resolve("final"))) return path.resolve("final");
    Optional<Path> last = latest(path);
    if (last.isPresent()) return last.get();
    throw new RewardKitException(path + " is not a model directory (no config.json), a LoRA adapter (no adapter_config.json)"
        + " nor a training output directory");
  }

  /** A full checkpoint (config.json) or a PEFT adapter directory (adapter_config.json). */
  static boolean isModelDir(Path dir) {
    return Files.isRegularFile(dir.resolve("config.json")) || Files.isRegularFile(dir.resolve("adapter_config.json"));
  }

  /** Writes JSON with {@link AtomicFiles}: a full disk leaves the old file or none, never a torn one. */
  public static void writeJson(Path file, Object value) throws IOException {
    AtomicFiles.writeBytes(file, JSON.writeValueAsBytes(value));
  }

  public static ObjectNode readJson(Path file) {
    try {
      return (ObjectNode) JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new RewardKitException("cannot read " + file + ": " + io.rewardkit.config.JsonErrors.describe(e), e);
    } catch (ClassCastException e) {
      throw new RewardKitException("cannot read " + file + ": not a JSON object", e);
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

  public static void deleteRecursively(Path p) throws IOException {
    AtomicFiles.deleteRecursively(p);
  }

}
