package io.rewardkit.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.DataOptions.Layout;
import io.rewardkit.data.EncodedDataset;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The reference model's Σ log-probs of each pair's chosen and rejected response, computed in one pass before
 * training so the reference is never resident while the policy trains. Indexed by the dataset's pair index.
 * {@link #save} / {@link #load} keep them in a JSON file tied to the dataset's fingerprint and the reference's
 * directory, so a changed dataset or another reference is refused rather than silently reused.
 */
public final class ReferenceLogps {
  private final double[] chosen, rejected;
  private final String datasetFingerprint, reference;
  private double[][] kl;  // KTO: the reference's log-probs of each bin's KL rows (see withKl), or null

  private ReferenceLogps(double[] chosen, double[] rejected, String datasetFingerprint, String reference) {
    this.chosen = chosen;
    this.rejected = rejected;
    this.datasetFingerprint = datasetFingerprint;
    this.reference = reference;
  }

  /**
   * KTO's batch KL estimate needs the reference's Σ log-probs of each bin's mismatched rows
   * ({@link PolicyBatches#klBatch}); they are computed in the same pass, for the bins in the order a run meets
   * them: {@code bins[i]} is the i-th optimizer step's (training) or the i-th eval bin's (eval), in KL-batch order.
   */
  public ReferenceLogps withKl(double[][] bins) {
    this.kl = bins;
    return this;
  }

  /** The reference's KL-row log-probs of the i-th bin, or null when none were computed. */
  public double[] kl(long i) { return kl == null || i >= kl.length ? null : kl[(int) i]; }

  /** How many bins have KL-row log-probs (0: none). */
  public int klBins() { return kl == null ? 0 : kl.length; }

  public double chosen(int pair) { return chosen[pair]; }

  public double rejected(int pair) { return rejected[pair]; }

  public int size() { return chosen.length; }

  /** Which reference these are of (its directory, or the random init it was). */
  public String reference() { return reference; }

  /** The fingerprint of the dataset these are of ({@link EncodedDataset#fingerprint}). */
  public String datasetFingerprint() { return datasetFingerprint; }

  /**
   * SHA-256 of the values (their IEEE-754 bits, chosen then rejected), the dataset fingerprint and the reference:
   * a checkpoint records it, and a resume refuses log-probs that do not hash to it.
   */
  public String sha256() {
    java.security.MessageDigest md;
    try {
      md = java.security.MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(16 * chosen.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    for (double v : chosen) b.putLong(Double.doubleToRawLongBits(v));
    for (double v : rejected) b.putLong(Double.doubleToRawLongBits(v));
    md.update(b.array());
    if (kl != null) {
      for (double[] bin : kl) {
        java.nio.ByteBuffer k = java.nio.ByteBuffer.allocate(8 * bin.length + 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        k.putInt(bin.length);
        for (double v : bin) k.putLong(Double.doubleToRawLongBits(v));
        md.update(k.array());
      }
    }
    md.update(("\n" + datasetFingerprint + "\n" + reference).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    return java.util.HexFormat.of().formatHex(md.digest());
  }

  /** Log-probs given per pair (e.g. from a prepared cache: {@link CachedReference}). */
  static ReferenceLogps of(double[] chosen, double[] rejected, String datasetFingerprint, String reference) {
    return new ReferenceLogps(chosen, rejected, datasetFingerprint, reference);
  }

  /** One forward pass of {@code ref} over every pair of {@code ds} (its epoch-0 bins in {@code layout}). */
  public static ReferenceLogps compute(PolicyModel ref, EncodedDataset ds, Layout layout, String reference) {
    double[] c = new double[ds.size()], r = new double[ds.size()];
    int[][] plan = ds.plan(0, layout);
    List<PackedBatch> batches = ds.batches(0, layout);
    for (int k = 0; k < plan.length; k++) {
      PackedBatch b = batches.get(k);
      int[] bin = plan[k], pl = new int[bin.length];
      for (int i = 0; i < bin.length; i++) pl[i] = ds.promptLength(bin[i]);
      double[] sums = ref.forward(b, PolicyTargets.of(b, pl)).response();
      for (int i = 0; i < bin.length; i++) {
        c[bin[i]] = sums[b.chosen()[i]];
        r[bin[i]] = sums[b.rejected()[i]];
      }
    }
    return new ReferenceLogps(c, r, ds.fingerprint(), reference);
  }

  /** Writes {@code file} atomically ({@link AtomicFiles}). */
  public void save(Path file) throws IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode root = json.createObjectNode();
    root.put("dataset_fingerprint", datasetFingerprint);
    root.put("reference", reference);
    root.putPOJO("chosen_logps", chosen);
    root.putPOJO("rejected_logps", rejected);
    if (kl != null) root.putPOJO("kl_logps", kl);
    AtomicFiles.writeString(file, json.writeValueAsString(root) + "\n");
  }

  /** Reads a file {@link #save} wrote for exactly this dataset and reference; anything else is an error naming it. */
  public static ReferenceLogps load(Path file, EncodedDataset ds, String reference) throws IOException {
    JsonNode root = new ObjectMapper().readTree(file.toFile());
    String fp = root.path("dataset_fingerprint").asText(), ref = root.path("reference").asText();
    if (!fp.equals(ds.fingerprint())) {
      throw new RewardKitException(file + ": reference log-probs of other data (dataset fingerprint " + fp + ", this data "
          + ds.fingerprint() + ")");
    }
    if (!ref.equals(reference)) {
      throw new RewardKitException(file + ": reference log-probs of " + ref + ", not of " + reference);
    }
    double[] c = new ObjectMapper().treeToValue(root.get("chosen_logps"), double[].class);
    double[] r = new ObjectMapper().treeToValue(root.get("rejected_logps"), double[].class);
    if (c.length != ds.size() || r.length != ds.size()) {
      throw new RewardKitException(file + ": " + c.length + " pairs, the data has " + ds.size());
    }
    ReferenceLogps out = new ReferenceLogps(c, r, fp, ref);
    if (root.hasNonNull("kl_logps")) out.withKl(new ObjectMapper().treeToValue(root.get("kl_logps"), double[][].class));
    return out;
  }

  /**
   * The reference's KL-row log-probs of bins in run order: {@code bins.get(i)} is (epoch, bin index) of the i-th
   * bin a run meets; each bin's KL rows are built from {@code ds}'s {@code layout} batches of that epoch.
   */
  public static double[][] computeKl(PolicyModel ref, EncodedDataset ds, Layout layout, List<int[]> bins) {
    double[][] out = new double[bins.size()][];
    int epoch = -1;
    int[][] plan = null;
    List<PackedBatch> batches = null;
    for (int i = 0; i < out.length; i++) {
      int e = bins.get(i)[0], k = bins.get(i)[1];
      if (e != epoch) {
        epoch = e;
        plan = ds.plan(e, layout);
        batches = ds.batches(e, layout);
      }
      int[] pl = new int[plan[k].length];
      for (int j = 0; j < pl.length; j++) pl[j] = ds.promptLength(plan[k][j]);
      PolicyBatches.KlBatch kb = PolicyBatches.klBatch(batches.get(k), pl, layout == Layout.SHARED_PREFIX);
      out[i] = ref.forward(kb.batch(), kb.targets()).response().clone();
    }
    return out;
  }
}
