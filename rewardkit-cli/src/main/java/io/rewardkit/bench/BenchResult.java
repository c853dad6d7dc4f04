package io.rewardkit.bench;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What one {@code rewardkit bench} run measured (timed steps only), and the figures derived from it.
 *
 * @param config        the run's settings
 * @param backend       backend name
 * @param matmulPrecision the linears' GEMM precision in effect ("fp32" or "bf16", {@code Backend#matmulPrecision})
 * @param ceilings      the higher of the ceilings measured before and after the timed steps
 * @param ceilingsBefore ceilings measured before the timed steps
 * @param ceilingsAfter  ceilings measured after them
 * @param stepNanos     wall time of each timed step (device synchronised at the end)
 * @param ops           time inside backend ops, per op key, over the timed steps
 * @param realTokens    packed tokens processed (no padding exists in the packed layout)
 * @param rowTokens     the same pairs counted as a padding trainer's rows, without padding (prompt twice)
 * @param visiblePairs  attention (query, key) pairs the masks allow, summed over sequences
 * @param microBatches  micro-batches run
 * @param modelFlops    model FLOPs of the timed steps ({@link FlopModel})
 * @param wallNanos     sum of {@code stepNanos}
 * @param peakBytes     peak device memory ({@code memoryDetail} says how it was measured)
 * @param memoryDetail  what {@code peakBytes} is
 * @param peakRssBytes  process peak RSS (VmHWM), -1 if unknown
 * @param firstLoss     loss of the first (warm-up) step
 * @param lastLoss      loss of the last step
 */
public record BenchResult(
    BenchConfig config,
    String backend,
    String matmulPrecision,
    Ceilings ceilings,
    Ceilings ceilingsBefore,
    Ceilings ceilingsAfter,
    long[] stepNanos,
    OpTimes ops,
    long realTokens,
    long rowTokens,
    long visiblePairs,
    long microBatches,
    long timedPairs,
    double modelFlops,
    long wallNanos,
    long peakBytes,
    String memoryDetail,
    long peakRssBytes,
    double firstLoss,
    double lastLoss) {

  public double seconds() { return wallNanos * 1e-9; }
  public double tokensPerSecond() { return realTokens / seconds(); }
  public double rowTokensPerSecond() { return rowTokens / seconds(); }
  public double pairsPerSecond() { return timedPairs / seconds(); }
  public double modelFlopsPerSecond() { return modelFlops / seconds(); }
  /** Model FLOP/s over the dense peak ({@link Ceilings#peakFlops()}); NaN when the peak is unknown. */
  public double mfu() { return modelFlopsPerSecond() / ceilings.peakFlops(); }
  /** Model FLOP/s over the GEMM ceiling measured in this run. */
  public double fractionOfGemm() { return modelFlopsPerSecond() / ceilings.gemmFlops(); }
  /** Real tokens over the token slots the micro-batches could hold. */
  public double packingEfficiency() { return (double) realTokens / ((double) microBatches * config.tokenBudget()); }
  /** Share of the wall time not spent inside any backend op. */
  public double hostShare() { return Math.max(0, 1.0 - (double) ops.totalNanos() / wallNanos); }

  public double medianStepMs() { return stepPercentileMs(50); }

  /**
   * The q-th percentile (0..100) of the timed step times in ms, linearly interpolated between the sorted
   * steps (numpy's default): 0 is the fastest step, 100 the slowest, 50 the median.
   */
  public double stepPercentileMs(double q) {
    long[] s = stepNanos.clone();
    Arrays.sort(s);
    double at = q / 100.0 * (s.length - 1);
    int lo = (int) Math.floor(at), hi = (int) Math.ceil(at);
    return (s[lo] + (at - lo) * (s[hi] - s[lo])) * 1e-6;
  }

  /** Interquartile range of the step times (75th - 25th percentile), ms. */
  public double stepIqrMs() { return stepPercentileMs(75) - stepPercentileMs(25); }

  /** Real tokens per second of the median step: mean tokens per timed step over the median step time. */
  public double medianTokensPerSecond() { return realTokens / (double) stepNanos.length / (medianStepMs() * 1e-3); }

  public double meanStepMs() { return wallNanos * 1e-6 / stepNanos.length; }

  /** The JSON report body (run metadata is added by the caller). */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("config", BenchEngine.describe(config));
    Map<String, Object> model = new LinkedHashMap<>();
    model.put("shape", config.shape().name());
    model.put("layers", config.shape().numLayers());
    model.put("hidden", config.shape().hiddenSize());
    model.put("non_embedding_params", config.shape().nonEmbeddingParameters());
    model.put("total_params", config.shape().totalParameters());
    m.put("model", model);
    m.put("backend", backend);
    m.put("matmul_precision", matmulPrecision);
    m.put("ceilings", ceilings.toMap());
    m.put("ceilings_before", ceilingsBefore.toMap());
    m.put("ceilings_after", ceilingsAfter.toMap());
    Map<String, Object> t = new LinkedHashMap<>();
    t.put("real_tokens_per_s", tokensPerSecond());
    t.put("pair_row_tokens_per_s", rowTokensPerSecond());
    t.put("pairs_per_s", pairsPerSecond());
    t.put("step_ms_mean", meanStepMs());
    t.put("step_ms_median", medianStepMs());
    t.put("step_ms_p25", stepPercentileMs(25));
    t.put("step_ms_p75", stepPercentileMs(75));
    t.put("step_ms_iqr", stepIqrMs());
    t.put("step_ms_min", stepPercentileMs(0));
    t.put("step_ms_max", stepPercentileMs(100));
    t.put("median_step_real_tokens_per_s", medianTokensPerSecond());
    t.put("step_ms", Arrays.stream(stepNanos).mapToDouble(x -> x * 1e-6).toArray());
    t.put("model_tflops_per_s", modelFlopsPerSecond() / 1e12);
    t.put("mfu", mfu());
    t.put("fraction_of_gemm_ceiling", fractionOfGemm());
    t.put("packing_efficiency", packingEfficiency());
    t.put("host_overhead_share", hostShare());
    t.put("real_tokens", realTokens);
    t.put("pair_row_tokens", rowTokens);
    t.put("micro_batches", microBatches);
    t.put("attention_visible_pairs", visiblePairs);
    t.put("model_flops", modelFlops);
    m.put("throughput", t);
    Map<String, Object> mem = new LinkedHashMap<>();
    mem.put("peak_bytes", peakBytes);
    mem.put("peak_detail", memoryDetail);
    mem.put("peak_rss_bytes", peakRssBytes);
    m.put("memory", mem);
    Map<String, Object> br = new LinkedHashMap<>();
    int steps = stepNanos.length;
    ops.byFamily().forEach((family, v) -> {
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("ms_per_step", v[0] * 1e-6 / steps);
      e.put("share", (double) v[0] / wallNanos);
      e.put("calls_per_step", (double) v[1] / steps);
      br.put(family, e);
    });
    Map<String, Object> host = new LinkedHashMap<>();
    host.put("ms_per_step", Math.max(0, wallNanos - ops.totalNanos()) * 1e-6 / steps);
    host.put("share", hostShare());
    br.put("host_jvm", host);
    m.put("breakdown", br);
    Map<String, Object> byOp = new LinkedHashMap<>();
    ops.asMap().forEach((k, v) -> byOp.put(k, v[0] * 1e-6 / steps));
    m.put("breakdown_ms_per_step_by_op", byOp);
    Map<String, Object> loss = new LinkedHashMap<>();
    loss.put("first", firstLoss);
    loss.put("last", lastLoss);
    m.put("loss", loss);
    return m;
  }

  /** The human-readable table. */
  public String table() {
    StringBuilder sb = new StringBuilder();
    BenchConfig c = config;
    sb.append(String.format(Locale.ROOT, "rewardkit bench: %s (%d layers, %.0fM non-embedding params) on %s%n",
        c.shape().name(), c.shape().numLayers(), c.shape().nonEmbeddingParameters() / 1e6, backend));
    sb.append(String.format(Locale.ROOT, "pairs %s, %s, token budget %d, %s layout, %d warm-up + %d timed steps, %s%n%n",
        c.pairsSource(), c.trainSteps() ? "train's steps (one budget-filled micro-batch each)" : c.pairsPerStep() + " pairs/step",
        c.tokenBudget(), c.sharedPrefix() ? "shared-prefix" : "separate",
        c.warmupSteps(), c.steps(), c.threads() > 0 ? "--threads " + c.threads() : "all cores"));
    row(sb, "real tokens/s", fmt(tokensPerSecond(), 0) + "  (" + fmt(medianTokensPerSecond(), 0) + " at the median step)");
    row(sb, "pair-row tokens/s", fmt(rowTokensPerSecond(), 0) + "  (prompt counted per response, as a padding trainer sees it)");
    row(sb, "pairs/s", fmt(pairsPerSecond(), 2));
    row(sb, "step time", fmt(medianStepMs(), 1) + " ms median, IQR " + fmt(stepIqrMs(), 1) + " ms ("
        + fmt(stepPercentileMs(25), 1) + " - " + fmt(stepPercentileMs(75), 1) + "), min " + fmt(stepPercentileMs(0), 1)
        + ", max " + fmt(stepPercentileMs(100), 1) + ", mean " + fmt(meanStepMs(), 1) + " ms");
    row(sb, "model FLOP rate", fmt(modelFlopsPerSecond() / 1e9, 1) + " GFLOP/s");
    row(sb, "MFU", Double.isNaN(mfu()) ? "n/a (unknown peak: pass --peak-tflops)"
        : pct(mfu()) + " of " + fmt(ceilings.peakFlops() / 1e9, 1) + " GFLOP/s (" + ceilings.peakSource() + ")");
    row(sb, "vs GEMM ceiling", pct(fractionOfGemm()) + " of " + fmt(ceilings.gemmFlops() / 1e9, 1) + " GFLOP/s (measured "
        + fmt(ceilingsBefore.gemmFlops() / 1e9, 1) + " before, " + fmt(ceilingsAfter.gemmFlops() / 1e9, 1) + " after the steps)");
    row(sb, "copy ceiling", fmt(ceilings.copyBytes() / 1e9, 1) + " GB/s");
    row(sb, "packing efficiency", pct(packingEfficiency()) + " (" + microBatches + " micro-batches)");
    row(sb, "peak memory", mib(peakBytes) + " (" + memoryDetail + ")");
    if (peakRssBytes > 0) row(sb, "peak RSS", mib(peakRssBytes) + " (whole process)");
    row(sb, "host (JVM) share", pct(hostShare()));
    row(sb, "loss", fmt(firstLoss, 4) + " (first step) -> " + fmt(lastLoss, 4) + " (last)");
    sb.append(String.format(Locale.ROOT, "%nstep-time breakdown (per step)%n"));
    sb.append(String.format(Locale.ROOT, "  %-14s %10s %7s %9s%n", "op family", "ms", "share", "calls"));
    int steps = stepNanos.length;
    ops.byFamily().forEach((f, v) -> sb.append(String.format(Locale.ROOT, "  %-14s %10.2f %6.1f%% %9.0f%n",
        f, v[0] * 1e-6 / steps, 100.0 * v[0] / wallNanos, (double) v[1] / steps)));
    sb.append(String.format(Locale.ROOT, "  %-14s %10.2f %6.1f%%%n", "host (JVM)",
        Math.max(0, wallNanos - ops.totalNanos()) * 1e-6 / steps, 100 * hostShare()));
    return sb.toString();
  }

  private static void row(StringBuilder sb, String k, String v) {
    sb.append(String.format(Locale.ROOT, "  %-20s %s%n", k, v));
  }

  static String fmt(double v, int digits) { return String.format(Locale.ROOT, "%,." + digits + "f", v); }
  static String pct(double v) { return String.format(Locale.ROOT, "%.1f%%", 100 * v); }
  static String mib(long b) { return String.format(Locale.ROOT, "%,.1f MiB", b / 1048576.0); }
}
