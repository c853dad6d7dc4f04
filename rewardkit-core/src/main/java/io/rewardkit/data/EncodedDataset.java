package io.rewardkit.data;

import io.rewardkit.RewardKitException;
import io.rewardkit.data.DataOptions.Layout;
import java.nio.IntBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Tokenized pairs plus the report of how they were obtained. Tokens live in one flat buffer
 * (heap array, or a memory-mapped {@link PreparedCache} file): pair i owns
 * {@code prompt ++ chosen ++ rejected} starting at {@code offset(i)}.
 *
 * <p>{@link #batches(int)} packs the pairs for one epoch; the plan depends only on the pair sizes,
 * the options' seed, budget and layout, and the epoch.
 */
public final class EncodedDataset {
  private final DataOptions options;
  private final int readoutToken;
  private final IntBuffer tokens;
  private final long[] offsets;
  private final int[] promptLen, chosenLen, rejectedLen;
  private final float[] margins;
  private final int[] datasetIds;
  private final long[] pairIds;
  private final DataReport report;
  private final int[][] storedPlan; // epoch-0 plan read from a cache (else null)

  EncodedDataset(DataOptions options, int readoutToken, IntBuffer tokens, long[] offsets, int[] promptLen,
      int[] chosenLen, int[] rejectedLen, float[] margins, int[] datasetIds, long[] pairIds, DataReport report,
      int[][] storedPlan) {
    this.options = options;
    this.readoutToken = readoutToken;
    this.tokens = tokens;
    this.offsets = offsets;
    this.promptLen = promptLen;
    this.chosenLen = chosenLen;
    this.rejectedLen = rejectedLen;
    this.margins = margins;
    this.datasetIds = datasetIds;
    this.pairIds = pairIds;
    this.report = report;
    this.storedPlan = storedPlan;
  }

  /**
   * Encodes in-memory records (e.g. the trainer's synthetic default task) with the same rules as
   * files: bad records follow options.onBadRecord(), truncation and the report apply.
   */
  public static EncodedDataset fromRecords(List<PreferenceRecord> records, Tokenizer tok, DataOptions options) {
    return DataPipeline.fromRecords(records, tok, options, "memory", DataPipeline.DropListener.NONE);
  }

  /**
   * As {@link #fromRecords(List, Tokenizer, DataOptions)}, telling {@code drops} about every record
   * that was dropped or bad (by its index in {@code records}); an empty result is not an error here.
   */
  public static EncodedDataset fromRecords(List<PreferenceRecord> records, Tokenizer tok, DataOptions options,
      DataPipeline.DropListener drops) {
    return DataPipeline.fromRecords(records, tok, options, "memory", drops);
  }

  /**
   * Pairs that are already tokenized (the benchmark's synthetic or pre-loaded pairs) as a dataset that packs
   * exactly as a training set does: {@link #batches(int)} uses {@code options}' layout, token budget and seed.
   * Every pair must carry the same readout token; pair ids are the pairs' own. There is no read report.
   */
  public static EncodedDataset of(List<EncodedPair> pairs, DataOptions options) {
    if (pairs.isEmpty()) throw new IllegalArgumentException("no pairs");
    int readout = pairs.get(0).readoutToken();
    Builder b = new Builder();
    for (EncodedPair p : pairs) {
      if (p.readoutToken() != readout) {
        throw new IllegalArgumentException("pair " + p.pairId() + " has readout token " + p.readoutToken() + ", pair "
            + pairs.get(0).pairId() + " has " + readout + " (one readout token per dataset)");
      }
      b.add(p, p.pairId());
    }
    return b.build(options, readout, new DataReport(List.of(), "none", "none", readout));
  }

  public DataOptions options() { return options; }
  public DataReport report() { return report; }
  public int size() { return promptLen.length; }
  public int readoutToken() { return readoutToken; }

  public int promptLength(int i) { return promptLen[i]; }
  public int chosenLength(int i) { return chosenLen[i]; }
  public int rejectedLength(int i) { return rejectedLen[i]; }
  public float margin(int i) { return margins[i]; }
  public int datasetId(int i) { return datasetIds[i]; }
  /** The pair's record index: its 0-based position among all records read, in input order (bad and dropped ones count). */
  public long pairId(int i) { return pairIds[i]; }

  long offset(int i) { return offsets[i]; }
  IntBuffer tokenBuffer() { return tokens; }
  int[][] storedPlan() { return storedPlan; }

  void copyPrompt(int i, int[] dst, int at) { tokens.get(Math.toIntExact(offsets[i]), dst, at, promptLen[i]); }
  void copyChosen(int i, int[] dst, int at) { tokens.get(Math.toIntExact(offsets[i] + promptLen[i]), dst, at, chosenLen[i]); }
  void copyRejected(int i, int[] dst, int at) {
    tokens.get(Math.toIntExact(offsets[i] + promptLen[i] + chosenLen[i]), dst, at, rejectedLen[i]);
  }

  /**
   * SHA-256 of exactly what this set trains or evaluates on: every pair's tokens, lengths, margin,
   * dataset and pair id (so the input files' content, the tokenizer, template and truncation, and
   * which pairs an eval split held out), plus the packing options (layout, token budget, seed).
   * Computed over the encoded pairs, so it is the same whether they came from files or a prepared cache.
   */
  public String fingerprint() {
    java.security.MessageDigest md = Sha256.newDigest();
    md.update(new java.util.TreeMap<>(options.cacheKey()).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1 << 16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.putInt(readoutToken).putInt(size());
    for (int i = 0; i < size(); i++) {
      if (b.remaining() < 40) { md.update(b.array(), 0, b.position()); b.clear(); }
      b.putLong(pairIds[i]).putInt(datasetIds[i]).putFloat(margins[i]).putInt(promptLen[i]).putInt(chosenLen[i]).putInt(rejectedLen[i]);
      long from = offsets[i], to = from + promptLen[i] + chosenLen[i] + rejectedLen[i];
      for (long t = from; t < to; t++) {
        if (b.remaining() < 4) { md.update(b.array(), 0, b.position()); b.clear(); }
        b.putInt(tokens.get(Math.toIntExact(t)));
      }
    }
    md.update(b.array(), 0, b.position());
    return Sha256.hex(md.digest());
  }

  /** Pair i as arrays (copies). */
  public EncodedPair pair(int i) {
    int[] p = new int[promptLen[i]], c = new int[chosenLen[i]], r = new int[rejectedLen[i]];
    copyPrompt(i, p, 0);
    copyChosen(i, c, 0);
    copyRejected(i, r, 0);
    return new EncodedPair(p, c, r, readoutToken, margins[i], datasetIds[i], pairIds[i]);
  }

  /** Tokens pair i takes in a batch of the given layout. */
  public int packedTokens(int i, Layout layout) {
    return EncodedPair.packedTokens(layout, promptLen[i], chosenLen[i], rejectedLen[i]);
  }

  private int[] sizes(Layout layout) {
    int[] s = new int[size()];
    for (int i = 0; i < s.length; i++) s[i] = packedTokens(i, layout);
    return s;
  }

  /** The epoch's bins as pair indices (options' layout). */
  public int[][] plan(int epoch) { return plan(epoch, options.layout()); }

  public int[][] plan(int epoch, Layout layout) {
    if (epoch == 0 && storedPlan != null && layout == options.layout()) return storedPlan;
    return Packer.plan(sizes(layout), options.maxTokensPerBatch(), options.seed(), epoch);
  }

  /** The packed batches of one epoch, deterministic per (seed, epoch), in the options' layout. */
  public List<PackedBatch> batches(int epoch) { return batches(epoch, options.layout()); }

  public List<PackedBatch> batches(int epoch, Layout layout) {
    int[][] plan = plan(epoch, layout);
    List<PackedBatch> out = new ArrayList<>(plan.length);
    for (int[] bin : plan) out.add(Packer.build(this, bin, layout));
    return out;
  }

  /** The same batches as {@link #batches(int)}, built one at a time (for datasets too big to hold packed twice). */
  public Iterable<PackedBatch> lazyBatches(int epoch) {
    int[][] plan = plan(epoch, options.layout());
    Layout layout = options.layout();
    return () -> new java.util.Iterator<>() {
      int next;
      @Override public boolean hasNext() { return next < plan.length; }
      @Override public PackedBatch next() {
        if (next >= plan.length) throw new java.util.NoSuchElementException();
        return Packer.build(EncodedDataset.this, plan[next++], layout);
      }
    };
  }

  /** Number of batches of an epoch (options' layout). */
  public int numBatches(int epoch) { return plan(epoch).length; }

  /** η of the epoch's plan in the given layout, plus both layouts' token totals. */
  public Packer.Stats packingStats(int epoch, Layout layout) {
    int[][] plan = plan(epoch, layout);
    long real = 0, sep = 0, shared = 0;
    for (int i = 0; i < size(); i++) {
      real += packedTokens(i, layout);
      sep += packedTokens(i, Layout.SEPARATE);
      shared += packedTokens(i, Layout.SHARED_PREFIX);
    }
    return new Packer.Stats(plan.length, real, (long) plan.length * options.maxTokensPerBatch(), sep, shared);
  }

  /** A train/eval split of the pairs. */
  public record Split(EncodedDataset train, EncodedDataset eval) {}

  /**
   * Moves a seeded random {@code evalFraction} of the pairs (at least one, if fraction > 0) into an
   * eval set; pair ids are kept, so metrics can still name the original pairs.
   */
  public Split split(double evalFraction) {
    if (!(evalFraction >= 0 && evalFraction < 1)) throw new RewardKitException("eval fraction must be in [0, 1), got " + evalFraction);
    int n = size();
    int nEval = evalFraction == 0 ? 0 : (int) Math.max(1, Math.round(n * evalFraction));
    if (nEval >= n) throw new RewardKitException("eval fraction " + evalFraction + " leaves no training pairs out of " + n);
    int[] order = new int[n];
    for (int i = 0; i < n; i++) order[i] = i;
    new Packer.SplitMix64(options.seed() ^ 0x5EED5EED5EEDL).shuffle(order);
    int[] eval = Arrays.copyOf(order, nEval);
    int[] train = Arrays.copyOfRange(order, nEval, n);
    Arrays.sort(eval);
    Arrays.sort(train);
    return new Split(subset(train), subset(eval));
  }

  /** A copy holding only the given pairs (in that order). */
  public EncodedDataset subset(int[] idx) {
    long total = 0;
    for (int i : idx) total += promptLen[i] + chosenLen[i] + rejectedLen[i];
    int[] flat = new int[Math.toIntExact(total)];
    long[] off = new long[idx.length];
    int[] pl = new int[idx.length], cl = new int[idx.length], rl = new int[idx.length], ds = new int[idx.length];
    float[] m = new float[idx.length];
    long[] ids = new long[idx.length];
    int at = 0;
    for (int k = 0; k < idx.length; k++) {
      int i = idx[k];
      off[k] = at;
      pl[k] = promptLen[i];
      cl[k] = chosenLen[i];
      rl[k] = rejectedLen[i];
      int len = pl[k] + cl[k] + rl[k];
      tokens.get(Math.toIntExact(offsets[i]), flat, at, len);
      at += len;
      m[k] = margins[i];
      ds[k] = datasetIds[i];
      ids[k] = pairIds[i];
    }
    return new EncodedDataset(options, readoutToken, IntBuffer.wrap(flat), off, pl, cl, rl, m, ds, ids, report, null);
  }

  /** Appends pairs; grows like ArrayList. */
  static final class Builder {
    private int[] tokens = new int[1 << 16];
    private long used;
    private long[] offsets = new long[256];
    private int[] pl = new int[256], cl = new int[256], rl = new int[256], ds = new int[256];
    private float[] m = new float[256];
    private long[] ids = new long[256];
    private int n;

    void add(EncodedPair p) { add(p, n); }

    /** id: the pair's stable id (the data pipeline passes the record index, so results map back to the input whatever was dropped). */
    void add(EncodedPair p, long id) {
      int len = p.prompt().length + p.chosen().length + p.rejected().length;
      if (used + len > Integer.MAX_VALUE - 16) throw new RewardKitException("dataset exceeds 2^31 tokens; split it");
      while (used + len > tokens.length) tokens = Arrays.copyOf(tokens, (int) Math.min(Integer.MAX_VALUE - 16L, 2L * tokens.length));
      if (n == pl.length) {
        int c = 2 * n;
        offsets = Arrays.copyOf(offsets, c);
        pl = Arrays.copyOf(pl, c);
        cl = Arrays.copyOf(cl, c);
        rl = Arrays.copyOf(rl, c);
        ds = Arrays.copyOf(ds, c);
        m = Arrays.copyOf(m, c);
        ids = Arrays.copyOf(ids, c);
      }
      int at = (int) used;
      System.arraycopy(p.prompt(), 0, tokens, at, p.prompt().length);
      System.arraycopy(p.chosen(), 0, tokens, at + p.prompt().length, p.chosen().length);
      System.arraycopy(p.rejected(), 0, tokens, at + p.prompt().length + p.chosen().length, p.rejected().length);
      offsets[n] = used;
      pl[n] = p.prompt().length;
      cl[n] = p.chosen().length;
      rl[n] = p.rejected().length;
      ds[n] = p.datasetId();
      m[n] = p.margin();
      ids[n] = id;
      n++;
      used += len;
    }

    int size() { return n; }

    EncodedDataset build(DataOptions options, int readoutToken, DataReport report) {
      return new EncodedDataset(options, readoutToken, IntBuffer.wrap(Arrays.copyOf(tokens, (int) used)),
          Arrays.copyOf(offsets, n), Arrays.copyOf(pl, n), Arrays.copyOf(cl, n), Arrays.copyOf(rl, n),
          Arrays.copyOf(m, n), Arrays.copyOf(ds, n), Arrays.copyOf(ids, n), report, null);
    }
  }
}
