package io.rewardkit.data;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.rewardkit.RewardKitException;
import io.rewardkit.io.AtomicFiles;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A prepared dataset on disk: a directory with {@code manifest.json} (tokenizer and template
 * hashes, options, input hashes, counts, packing figures, data hash) and {@code pairs.bin}
 * (little-endian; memory-mapped on open). No timestamps or absolute state: the same inputs and
 * options give byte-identical files. Written to a temporary sibling directory and renamed into
 * place, so a failed prepare leaves nothing behind.
 *
 * <p>pairs.bin: magic "RKPAIRS1", int32 version, int32 readout token, int64 pairs N, int64 tokens T,
 * int32 promptLen[N], chosenLen[N], rejectedLen[N], float32 margin[N], int32 datasetId[N],
 * int64 pairId[N], int32 bins B, int32 binStart[B+1], int32 binPairs[N] (epoch-0 plan), padding to
 * 8 bytes, int32 tokens[T] (pair after pair: prompt, chosen, rejected).
 */
public final class PreparedCache {
  public static final String MANIFEST = "manifest.json";
  public static final String DATA = "pairs.bin";
  static final String FORMAT = "rewardkit-prepared-cache";
  static final int VERSION = 1;
  private static final byte[] MAGIC = "RKPAIRS1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private final Path dir;
  private final Map<String, Object> manifest;
  private final EncodedDataset dataset;

  private PreparedCache(Path dir, Map<String, Object> manifest, EncodedDataset dataset) {
    this.dir = dir;
    this.manifest = manifest;
    this.dataset = dataset;
  }

  public Path dir() { return dir; }
  public Map<String, Object> manifest() { return manifest; }
  public EncodedDataset dataset() { return dataset; }

  public static boolean isCache(Path p) { return Files.isDirectory(p) && Files.isRegularFile(p.resolve(MANIFEST)); }

  /** Writes ds to dir atomically; an existing cache there is replaced, anything else is refused. */
  public static void write(Path dir, EncodedDataset ds, Tokenizer tok) { write(dir, ds, tok, Map.of()); }

  /**
   * As {@link #write(Path, EncodedDataset, Tokenizer)}, with the tokenizer's files (name to source)
   * copied into the cache so that `train --dataset CACHE` needs no --tokenizer.
   */
  public static void write(Path dir, EncodedDataset ds, Tokenizer tok, Map<String, Path> tokenizerFiles) {
    Path target = dir.toAbsolutePath().normalize();
    if (Files.exists(target) && !isCache(target) && !isEmptyDir(target)) {
      throw new RewardKitException("output " + dir + " exists and is not a prepared cache; refusing to overwrite it");
    }
    try {
      Files.createDirectories(target.getParent());
      removeStaleTemporaries(target);
      AtomicFiles.writeDirectory(target, tmp -> fill(tmp, ds, tok, tokenizerFiles));
    } catch (IOException e) {
      throw new RewardKitException("cannot write prepared cache " + dir + ": " + e.getMessage(), e);
    }
  }

  private static void fill(Path tmp, EncodedDataset ds, Tokenizer tok, Map<String, Path> tokenizerFiles) throws IOException {
    try {
      Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    } catch (UnsupportedOperationException ignored) {
      // not a POSIX file system: keep the default
    }
    int[][] plan = ds.plan(0);
    String dataSha = writeData(tmp.resolve(DATA), ds, plan);
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("format", FORMAT);
    m.put("version", VERSION);
    Map<String, Object> tokInfo = new LinkedHashMap<>();
    tokInfo.put("kind", tok instanceof ByteTokenizer ? "byte" : "hf");
    tokInfo.put("sha256", tok.hash());
    for (Map.Entry<String, Path> f : tokenizerFiles.entrySet()) Files.copy(f.getValue(), tmp.resolve(f.getKey()));
    tokInfo.put("files", new ArrayList<>(new java.util.TreeSet<>(tokenizerFiles.keySet())));
    tokInfo.put("vocab_size", tok.vocabSize());
    m.put("tokenizer", tokInfo);
    m.put("template_sha256", ds.report().templateHash());
    m.put("readout_token", ds.readoutToken());
    m.put("options", ds.options().cacheKey());
    m.put("pairs", ds.size());
    long tokens = ds.size() == 0 ? 0 : ds.offset(ds.size() - 1) + ds.promptLength(ds.size() - 1)
        + ds.chosenLength(ds.size() - 1) + ds.rejectedLength(ds.size() - 1);
    m.put("stored_tokens", tokens); // prompt + chosen + rejected per pair (readouts are added when packing)
    Packer.Stats st = ds.packingStats(0, ds.options().layout());
    Map<String, Object> packing = new LinkedHashMap<>();
    packing.put("layout", ds.options().layout().name().toLowerCase(java.util.Locale.ROOT));
    packing.put("bins", st.bins());
    packing.put("real_tokens", st.realTokens());
    packing.put("slots", st.slots());
    packing.put("efficiency", Math.round(st.efficiency() * 1e6) / 1e6);
    packing.put("separate_tokens", st.separateTokens());
    packing.put("shared_prefix_tokens", st.sharedPrefixTokens());
    m.put("packing_epoch0", packing);
    m.put("report", ds.report().toMap());
    m.put("data_sha256", dataSha);
    byte[] json = mapper().writeValueAsBytes(m);
    Files.write(tmp.resolve(MANIFEST), json);
  }

  /**
   * Deletes the temporaries ({@code .<name>.tmp-<pid>-*}, {@code .<name>.old-<pid>-*}) that a
   * killed prepare of the same cache left beside it; those of a live process are left alone.
   */
  static void removeStaleTemporaries(Path target) throws IOException {
    String prefix = "." + target.getFileName();
    java.util.regex.Pattern own = java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(prefix) + "\\.(tmp|old)-(\\d+)-.*");
    try (java.util.stream.Stream<Path> s = Files.list(target.getParent())) {
      for (Path p : (Iterable<Path>) s::iterator) {
        java.util.regex.Matcher m = own.matcher(p.getFileName().toString());
        if (!m.matches()) continue;
        long pid = Long.parseLong(m.group(2));
        if (pid != ProcessHandle.current().pid() && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) continue;
        deleteTree(p);
      }
    }
  }

  private static String writeData(Path file, EncodedDataset ds, int[][] plan) throws IOException {
    MessageDigest sha = Sha256.newDigest();
    int n = ds.size();
    try (OutputStream raw = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW);
        DigestOutputStream dig = new DigestOutputStream(new BufferedOutputStream(raw, 1 << 16), sha);
        DataOutputStream out = new DataOutputStream(dig)) {
      LittleEndian le = new LittleEndian(out);
      out.write(MAGIC);
      le.i32(VERSION);
      le.i32(ds.readoutToken());
      le.i64(n);
      long tokens = 0;
      for (int i = 0; i < n; i++) tokens += ds.promptLength(i) + ds.chosenLength(i) + ds.rejectedLength(i);
      le.i64(tokens);
      for (int i = 0; i < n; i++) le.i32(ds.promptLength(i));
      for (int i = 0; i < n; i++) le.i32(ds.chosenLength(i));
      for (int i = 0; i < n; i++) le.i32(ds.rejectedLength(i));
      for (int i = 0; i < n; i++) le.i32(Float.floatToIntBits(ds.margin(i)));
      for (int i = 0; i < n; i++) le.i32(ds.datasetId(i));
      for (int i = 0; i < n; i++) le.i64(ds.pairId(i));
      le.i32(plan.length);
      int at = 0;
      le.i32(0);
      for (int[] bin : plan) le.i32(at += bin.length);
      for (int[] bin : plan) for (int p : bin) le.i32(p);
      long written = 8 + 4 + 4 + 8 + 8 + 4L * n * 5 + 8L * n + 4 + 4L * (plan.length + 1) + 4L * n;
      if (written % 8 != 0) le.i32(0);
      IntBuffer tb = ds.tokenBuffer();
      for (int i = 0; i < n; i++) {
        int start = Math.toIntExact(ds.offset(i));
        int len = ds.promptLength(i) + ds.chosenLength(i) + ds.rejectedLength(i);
        for (int k = 0; k < len; k++) le.i32(tb.get(start + k));
      }
    }
    return Sha256.hex(sha.digest());
  }

  /** Opens a cache and refuses it unless its manifest matches these options and this tokenizer. */
  public static PreparedCache open(Path dir, DataOptions options, Tokenizer tok) {
    return open(dir, options, tok, DataOptions.NAMES);
  }

  /**
   * Opens a cache and refuses it unless the options named in {@code compare} and the tokenizer and
   * chat template match; the error lists every difference.
   */
  public static PreparedCache open(Path dir, DataOptions options, Tokenizer tok, java.util.Collection<String> compare) {
    PreparedCache c = open(dir);
    List<String> diffs = new ArrayList<>();
    Map<String, String> stored = c.dataset.options().cacheKey();
    Map<String, String> wanted = options.validate().cacheKey();
    for (Map.Entry<String, String> e : wanted.entrySet()) {
      if (!compare.contains(e.getKey())) continue;
      String s = stored.get(e.getKey());
      if (!e.getValue().equals(s)) diffs.add("--" + e.getKey() + " " + e.getValue() + " (cache: " + s + ")");
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> t = (Map<String, Object>) c.manifest.get("tokenizer");
    if (!tok.hash().equals(t.get("sha256"))) diffs.add("tokenizer sha256 " + tok.hash() + " (cache: " + t.get("sha256") + ")");
    ChatTemplate tpl = DataPipeline.template(options, tok);
    String th = tpl == null ? "none" : tpl.hash();
    if (!th.equals(c.manifest.get("template_sha256"))) {
      diffs.add("chat template sha256 " + th + " (cache: " + c.manifest.get("template_sha256") + ")");
    }
    if (!diffs.isEmpty()) {
      throw new io.rewardkit.UsageException("prepared cache " + dir + " was made with other data options: " + String.join(", ", diffs)
          + "; re-run `rewardkit prepare` with them, leave them out to use the cache's, or pass the raw files");
    }
    return c;
  }

  /** Opens and verifies a cache (format, version, data hash) without comparing options. */
  @SuppressWarnings("unchecked")
  public static PreparedCache open(Path dir) {
    Path mf = dir.resolve(MANIFEST);
    Path data = dir.resolve(DATA);
    Map<String, Object> m;
    try {
      m = mapper().readValue(mf.toFile(), new TypeReference<Map<String, Object>>() {});
    } catch (IOException e) {
      throw new RewardKitException("cannot read cache manifest " + mf + ": " + io.rewardkit.config.JsonErrors.describe(e), e);
    }
    if (!FORMAT.equals(m.get("format")) || !Integer.valueOf(VERSION).equals(m.get("version"))) {
      throw new RewardKitException(mf + " is not a version-" + VERSION + " rewardkit prepared cache");
    }
    try (FileChannel ch = FileChannel.open(data, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size > Integer.MAX_VALUE) throw new RewardKitException("cache " + data + " is over 2 GiB; not supported yet");
      MappedByteBuffer buf = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
      MessageDigest sha = Sha256.newDigest();
      sha.update(buf.duplicate());
      if (!Sha256.hex(sha.digest()).equals(m.get("data_sha256"))) {
        throw new RewardKitException("cache " + data + " does not match the hash in its manifest (corrupt or modified)");
      }
      ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
      byte[] magic = new byte[8];
      b.get(magic);
      if (!java.util.Arrays.equals(magic, MAGIC) || b.getInt() != VERSION) throw new RewardKitException(data + ": bad magic/version");
      int readout = b.getInt();
      int n = Math.toIntExact(b.getLong());
      long tokens = b.getLong();
      int[] pl = ints(b, n), cl = ints(b, n), rl = ints(b, n);
      int[] mb = ints(b, n);
      float[] margins = new float[n];
      for (int i = 0; i < n; i++) margins[i] = Float.intBitsToFloat(mb[i]);
      int[] ds = ints(b, n);
      long[] ids = new long[n];
      for (int i = 0; i < n; i++) ids[i] = b.getLong();
      int bins = b.getInt();
      int[] starts = ints(b, bins + 1);
      int[] binPairs = ints(b, n);
      if (b.position() % 8 != 0) b.getInt();
      int[][] plan = new int[bins][];
      for (int k = 0; k < bins; k++) plan[k] = java.util.Arrays.copyOfRange(binPairs, starts[k], starts[k + 1]);
      if (b.remaining() != tokens * 4) throw new RewardKitException(data + ": token section has " + b.remaining() + " bytes, expected " + tokens * 4);
      IntBuffer tb = b.slice().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
      long[] offsets = new long[n];
      long at = 0;
      for (int i = 0; i < n; i++) {
        offsets[i] = at;
        at += pl[i] + cl[i] + rl[i];
      }
      DataOptions opts = optionsFrom((Map<String, Object>) m.get("options"));
      DataReport report = DataReport.fromMap((Map<String, Object>) m.get("report"));
      EncodedDataset e = new EncodedDataset(opts, readout, tb, offsets, pl, cl, rl, margins, ds, ids, report, plan);
      return new PreparedCache(dir, m, e);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new RewardKitException("cache data file missing: " + data);
    } catch (IOException | java.nio.BufferUnderflowException e) {
      throw new RewardKitException("cannot read cache " + data + ": " + e, e);
    }
  }

  private static int[] ints(ByteBuffer b, int n) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) a[i] = b.getInt();
    return a;
  }

  /** Options back from a manifest, through the option registry (so a cache can be used on its own). */
  public static DataOptions optionsFrom(Map<String, Object> o) {
    return DataOptions.from(name -> {
      if (!o.containsKey(name)) return io.rewardkit.config.Options.get(name).defaultValue(); // older manifests
      Object v = o.get(name);
      String text = v == null ? null : legacy(name, v.toString());
      return text == null || "null".equals(text) ? null : io.rewardkit.config.Options.get(name).parse(text, "cache option " + name);
    });
  }

  /** Version-1 caches before the option registry stored rating_margins as a map's toString. */
  private static String legacy(String name, String v) {
    if (!name.equals("rating_margins") || !v.startsWith("{")) return v;
    String inner = v.substring(1, v.length() - 1).replace(", ", ",");
    return inner.isEmpty() ? "null" : inner;
  }

  /** The cache's data options by name, typed, as the command line would give them. */
  public Map<String, Object> optionValues() { return dataset.options().values(); }

  /** The tokenizer stored in the cache: its directory (HF files copied in), or "byte". */
  public String tokenizer() {
    @SuppressWarnings("unchecked")
    Map<String, Object> t = (Map<String, Object>) manifest.get("tokenizer");
    return "byte".equals(t.get("kind")) ? "byte" : Files.isRegularFile(dir.resolve("tokenizer.json")) ? dir.toString() : null;
  }

  private static ObjectMapper mapper() {
    return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);
  }

  private static boolean isEmptyDir(Path p) {
    if (!Files.isDirectory(p)) return false;
    try (Stream<Path> s = Files.list(p)) {
      return s.findAny().isEmpty();
    } catch (IOException e) {
      return false;
    }
  }

  static void deleteTree(Path p) {
    try (Stream<Path> walk = Files.walk(p)) {
      walk.sorted(Comparator.reverseOrder()).forEach(q -> {
        try {
          Files.deleteIfExists(q);
        } catch (IOException ignored) {
          // best effort cleanup of our own temporary files
        }
      });
    } catch (IOException ignored) {
      // nothing to clean
    }
  }

  /** Little-endian writes on a DataOutputStream (which is big-endian). */
  private record LittleEndian(DataOutputStream out) {
    void i32(int v) throws IOException { out.writeInt(Integer.reverseBytes(v)); }
    void i64(long v) throws IOException { out.writeLong(Long.reverseBytes(v)); }
  }
}
