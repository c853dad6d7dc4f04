package io.rewardkit.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.EncodedDataset;
import io.rewardkit.io.AtomicFiles;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Reference log-probs stored in a prepared cache by {@code rewardkit prepare --ref_model DIR}: the reference's
 * Σ log-probs of every pair's chosen and rejected response, keyed by (dataset id, pair id), with the reference's
 * identity (its directory and the SHA-256 of its config and weights). {@code train --task dpo|ipo --dataset
 * <cache>} takes the log-probs of its train and eval pairs from here instead of loading the reference; a
 * {@code --ref_model} whose SHA-256 differs from the cache's is refused.
 */
public final class CachedReference {
  /** The file in the prepared cache. */
  public static final String FILE = "ref_logps.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String reference, referenceSha256;
  private final Map<Long, double[]> byPair;  // key(dataset id, pair id) -> {chosen, rejected}

  private CachedReference(String reference, String referenceSha256, Map<Long, double[]> byPair) {
    this.reference = reference;
    this.referenceSha256 = referenceSha256;
    this.byPair = byPair;
  }

  public String reference() { return reference; }

  public String referenceSha256() { return referenceSha256; }

  public int size() { return byPair.size(); }

  private static long key(int datasetId, long pairId) { return ((long) datasetId << 48) ^ pairId; }

  /**
   * Runs the reference in {@code refDir} once over every pair of {@code ds} (its layout, epoch-0 bins) and writes
   * {@value #FILE} into the cache directory atomically. Returns what it wrote.
   */
  public static CachedReference write(Path cacheDir, Path refDir, EncodedDataset ds, Backend backend) throws IOException {
    String name = refDir.toAbsolutePath().normalize().toString(), sha = modelSha256(refDir);
    ReferenceLogps lp;
    try (PolicyModel ref = PolicyModel.fromPretrained(refDir, backend, DType.F32)) {
      lp = ReferenceLogps.compute(ref, ds, ds.options().layout(), name);
    }
    ObjectNode root = JSON.createObjectNode();
    root.put("format", "rewardkit-reference-logps");
    root.put("reference", name);
    root.put("reference_sha256", sha);
    root.put("dataset_fingerprint", ds.fingerprint());
    root.put("layout", ds.options().layout().name().toLowerCase(java.util.Locale.ROOT));
    int n = ds.size();
    int[] datasetIds = new int[n];
    long[] pairIds = new long[n];
    double[] c = new double[n], r = new double[n];
    Map<Long, double[]> by = new HashMap<>();
    for (int i = 0; i < n; i++) {
      datasetIds[i] = ds.datasetId(i);
      pairIds[i] = ds.pairId(i);
      c[i] = lp.chosen(i);
      r[i] = lp.rejected(i);
      by.put(key(datasetIds[i], pairIds[i]), new double[] {c[i], r[i]});
    }
    root.putPOJO("dataset_ids", datasetIds);
    root.putPOJO("pair_ids", pairIds);
    root.putPOJO("chosen_logps", c);
    root.putPOJO("rejected_logps", r);
    AtomicFiles.writeString(cacheDir.resolve(FILE), JSON.writeValueAsString(root) + "\n");
    return new CachedReference(name, sha, by);
  }

  /** The cache's stored reference log-probs, or null when {@code prepare} ran without --ref_model. */
  public static CachedReference read(Path cacheDir) throws IOException {
    Path f = cacheDir.resolve(FILE);
    if (!Files.isRegularFile(f)) return null;
    JsonNode root = JSON.readTree(f.toFile());
    int[] d = JSON.treeToValue(root.get("dataset_ids"), int[].class);
    long[] p = JSON.treeToValue(root.get("pair_ids"), long[].class);
    double[] c = JSON.treeToValue(root.get("chosen_logps"), double[].class);
    double[] r = JSON.treeToValue(root.get("rejected_logps"), double[].class);
    if (d.length != p.length || c.length != p.length || r.length != p.length) {
      throw new RewardKitException(f + ": dataset_ids, pair_ids, chosen_logps and rejected_logps differ in length");
    }
    Map<Long, double[]> by = new HashMap<>();
    for (int i = 0; i < p.length; i++) by.put(key(d[i], p[i]), new double[] {c[i], r[i]});
    return new CachedReference(root.path("reference").asText(), root.path("reference_sha256").asText(), by);
  }

  /** The log-probs of {@code part}'s pairs (the cache's train or eval split), in its pair order. */
  public ReferenceLogps of(EncodedDataset part) {
    double[] c = new double[part.size()], r = new double[part.size()];
    for (int i = 0; i < part.size(); i++) {
      double[] v = byPair.get(key(part.datasetId(i), part.pairId(i)));
      if (v == null) {
        throw new RewardKitException("prepared cache " + FILE + ": no reference log-probs for pair " + part.pairId(i)
            + " of dataset " + part.datasetId(i) + " (the cache was changed after prepare --ref_model)");
      }
      c[i] = v[0];
      r[i] = v[1];
    }
    return ReferenceLogps.of(c, r, part.fingerprint(), reference);
  }

  /** SHA-256 over a model directory's config.json and *.safetensors files (names and contents, sorted by name). */
  public static String modelSha256(Path dir) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> {
        String n = p.getFileName().toString();
        return Files.isRegularFile(p) && (n.equals("config.json") || n.endsWith(".safetensors"));
      }).sorted().toList();
    }
    if (files.isEmpty()) throw new RewardKitException(dir + ": no config.json or *.safetensors (not a model directory)");
    byte[] buf = new byte[1 << 20];
    for (Path f : files) {
      md.update((f.getFileName().toString() + "\n").getBytes(StandardCharsets.UTF_8));
      try (InputStream in = Files.newInputStream(f)) {
        for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }
}
