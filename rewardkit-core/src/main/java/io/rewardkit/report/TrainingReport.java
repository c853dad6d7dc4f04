package io.rewardkit.report;

import io.rewardkit.eval.EvalResult;
import io.rewardkit.io.AtomicFiles;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * The end-of-run report, a function of metrics.jsonl (all record kinds; see {@link MetricsRecords})
 * and the final evaluation: a header saying which run it is (model, data, key options, steps, tokens,
 * runtime, date, version), the final eval with per-length accuracy against the length-only baseline,
 * and charts (loss, accuracy, learning rate, grad norm, reward histograms, per-length accuracy), as
 * PNG files and one self-contained HTML page with the images inlined.
 */
public final class TrainingReport {
  private TrainingReport() {}

  /** The options the header lists (when present), in this order. */
  static final List<String> KEY_OPTIONS = List.of("loss_type", "learning_rate", "lr_scheduler_type", "warmup_ratio",
      "warmup_steps", "num_train_epochs", "max_steps", "gradient_accumulation_steps", "max_length",
      "max_tokens_per_batch", "layout", "truncation", "weight_decay", "max_grad_norm", "seed", "device");

  /** Writes the charts (PNG) and index.html under dir; returns the HTML path. */
  public static Path write(Path dir, List<Map<String, Object>> metrics, EvalResult finalEval, String title) throws IOException {
    Files.createDirectories(dir);
    List<Map<String, Object>> train = MetricsRecords.ofKind(metrics, MetricsRecords.TRAIN);
    List<Map<String, Object>> evals = MetricsRecords.ofKind(metrics, MetricsRecords.EVAL);
    Map<String, Object> start = MetricsRecords.last(metrics, MetricsRecords.RUN_START);
    Map<String, Object> end = MetricsRecords.last(metrics, MetricsRecords.RUN_END);
    Map<String, Object> options = map(start == null ? null : start.get("options"));

    List<String[]> images = new ArrayList<>();  // file name, base64
    save(Charts.lineChart("Loss", "optimizer step", "loss", true, List.of(
        series("train loss (logging-window mean)", train, "loss", Charts.BLUE, Charts.Style.LINE),
        series("eval loss", evals, "eval_loss", Charts.ORANGE, Charts.Style.POINTS)), Double.NaN, Double.NaN),
        dir, "loss.png", images);
    List<Charts.Series> acc = new ArrayList<>(List.of(
        series("train accuracy (logging-window mean)", train, "accuracy", Charts.BLUE, Charts.Style.LINE),
        series("eval accuracy", evals, "eval_accuracy", Charts.ORANGE, Charts.Style.POINTS)));
    if (finalEval != null && finalEval.numPairs() > 0) {
      acc.add(Charts.reference(String.format(Locale.ROOT, "length-only baseline on eval (%.3f)",
          finalEval.lengthBaselineAccuracy()), finalEval.lengthBaselineAccuracy(), Charts.GREY));
    }
    save(Charts.lineChart("Accuracy", "optimizer step", "accuracy", true, acc, 0, 1.03), dir, "accuracy.png", images);
    save(Charts.lineChart("Learning rate", "optimizer step", "learning rate", true, List.of(
        series("learning rate (at the logged step)", train, "learning_rate", Charts.GREEN, Charts.Style.LINE)), 0, Double.NaN),
        dir, "learning_rate.png", images);
    List<Charts.Series> gn = new ArrayList<>(List.of(
        series("grad norm before clipping (at the logged step)", train, "grad_norm", Charts.RED, Charts.Style.LINE)));
    if (options.get("max_grad_norm") instanceof Number clip && clip.doubleValue() > 0) {
      gn.add(Charts.reference("max_grad_norm (" + clip + ")", clip.doubleValue(), Charts.GREY));
    }
    save(Charts.lineChart("Gradient norm", "optimizer step", "global L2 norm", true, gn, 0, Double.NaN),
        dir, "grad_norm.png", images);

    if (finalEval != null && finalEval.numPairs() > 0) {
      double[] c = new double[finalEval.numPairs()], r = new double[finalEval.numPairs()];
      for (int i = 0; i < c.length; i++) { c[i] = finalEval.chosen()[i]; r[i] = finalEval.rejected()[i]; }
      save(Charts.histograms("Rewards on the eval set (final model)", "reward", "responses", c, "chosen", r, "rejected", 40),
          dir, "rewards.png", images);
      List<EvalResult.LengthBucket> buckets = finalEval.lengthBuckets();
      List<String> names = new ArrayList<>();
      double[] model = new double[buckets.size()], base = new double[buckets.size()];
      for (int i = 0; i < buckets.size(); i++) {
        EvalResult.LengthBucket b = buckets.get(i);
        names.add(b.name() + " (" + b.pairs() + ")");
        model[i] = b.accuracy();
        base[i] = b.lengthBaseline();
      }
      save(Charts.bars("Eval accuracy by length", "tokens in the longer sequence of a pair (eval pairs in the bucket)", "accuracy", names,
          List.of("reward model", "length-only baseline"), List.of(model, base), List.of(Charts.ORANGE, Charts.GREY)),
          dir, "accuracy_by_length.png", images);
    }

    StringBuilder html = pageHead(title, options);
    html.append(header(metrics, start, end, options));
    html.append(evalTables(finalEval, end, MetricsRecords.last(metrics, MetricsRecords.EVAL)));
    return writePage(html, images, dir);
  }

  /** The page's head, styles, title and run line, shared by the reward-model and policy reports. */
  static StringBuilder pageHead(String title, Map<String, Object> options) {
    StringBuilder html = new StringBuilder();
    html.append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>").append(escape(title)).append("</title>")
        .append("<style>body{font-family:sans-serif;max-width:1320px;margin:1.5em auto;color:#222;padding:0 1em}"
            + "h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin:1.2em 0 .4em}"
            + "table{border-collapse:collapse;font-size:14px}td,th{padding:3px 12px 3px 0;text-align:left;vertical-align:top}"
            + "th{color:#555;font-weight:normal;white-space:nowrap}td.n{text-align:right;font-variant-numeric:tabular-nums}"
            + ".tables{display:flex;gap:3em;flex-wrap:wrap;align-items:flex-start}.charts{display:flex;flex-wrap:wrap;gap:12px}"
            + ".charts img{border:1px solid #ddd;width:640px;max-width:100%}.sub{color:#666;margin-top:0}"
            + "code{font-size:13px}</style></head><body>")
        .append("<h1>").append(escape(title)).append("</h1>");
    Object out = options.get("output_dir");
    if (out != null) html.append("<p class=\"sub\">run <code>").append(escape(String.valueOf(out))).append("</code></p>");
    return html;
  }

  /** Appends the charts (inline PNGs), closes the page and writes dir/index.html atomically. */
  static Path writePage(StringBuilder html, List<String[]> images, Path dir) throws IOException {
    html.append("<h2>Charts</h2><div class=\"charts\">");
    for (String[] img : images) {
      html.append("<img alt=\"").append(img[0]).append("\" src=\"data:image/png;base64,").append(img[1]).append("\">");
    }
    html.append("</div></body></html>\n");
    Path index = dir.resolve("index.html");
    AtomicFiles.writeString(index, html.toString());
    return index;
  }

  /** The table that says which run this is; rows whose facts were not recorded are left out. */
  static String header(List<Map<String, Object>> metrics, Map<String, Object> start, Map<String, Object> end,
      Map<String, Object> options) {
    Map<String, String> rows = new LinkedHashMap<>();
    if (start == null) {
      rows.put("run", "metrics.jsonl has no run_start record (written by an older RewardKit): model, data and options unknown");
    } else {
      Map<String, Object> model = map(start.get("model"));
      StringBuilder m = new StringBuilder(String.valueOf(model.getOrDefault("source", "?")));
      if (model.containsKey("model_type")) {
        m.append(" — ").append(model.get("model_type"));
        if (model.get("parameters") instanceof Number p) m.append(", ").append(count(p.longValue())).append(" parameters");
        if (model.containsKey("num_hidden_layers")) {
          m.append(" (").append(model.get("num_hidden_layers")).append(" layers, hidden ").append(model.get("hidden_size"))
              .append(", vocab ").append(model.get("vocab_size")).append(")");
        }
      }
      rows.put("model", m.toString());
      if (model.get("tokenizer") != null) rows.put("tokenizer", String.valueOf(model.get("tokenizer")));
      if (start.get("datasets") instanceof List<?> ds) rows.put("datasets", join(ds));
      if (start.get("eval_datasets") instanceof List<?> ds) rows.put("eval datasets", join(ds));
      rows.put("data", dataLine(map(start.get("data"))));
      StringBuilder o = new StringBuilder();
      for (String k : KEY_OPTIONS) {
        Object v = options.get(k);
        if (v == null || (k.equals("max_steps") && v instanceof Number n && n.longValue() <= 0)
            || (k.startsWith("warmup") && v instanceof Number w && w.doubleValue() == 0)) continue;
        if (o.length() > 0) o.append(", ");
        o.append(k).append(' ').append(v instanceof Double d ? num(d) : v);
      }
      if (start.get("options_sha256") instanceof String h) {
        o.append(" (fingerprint ").append(h, 0, Math.min(12, h.length())).append(")");
      }
      rows.put("options", o.toString());
    }
    long steps = end != null ? longOf(end.get("global_step")) : lastLong(metrics, "global_step");
    Object total = start == null ? null : start.get("total_steps");
    rows.put("steps", count(steps) + (total == null ? "" : " of " + count(longOf(total)))
        + (end == null ? " (no run_end record: the run did not finish, or is still running)" : ""));
    long tokens = end != null ? longOf(end.get("num_tokens")) : lastLong(metrics, "num_tokens");
    double runtime = MetricsRecords.totalRuntime(metrics);
    rows.put("tokens", count(tokens) + (runtime > 0 ? String.format(Locale.ROOT, " (%s tokens/s)", count(Math.round(tokens / runtime))) : ""));
    long invocations = MetricsRecords.ofKind(metrics, MetricsRecords.RUN_START).size();
    rows.put("runtime", runtime > 0 ? clock(runtime) + (invocations > 1 ? " over " + invocations + " invocations (resumed)" : "")
        : "not recorded");
    String first = firstTimestamp(metrics), last = lastTimestamp(metrics);
    if (first != null) rows.put("date (UTC)", first.replace('T', ' ').replaceAll("\\.\\d+Z$", "").replace("Z", "")
        + (last != null && !last.equals(first) ? " → " + last.replace('T', ' ').replaceAll("\\.\\d+Z$", "").replace("Z", "") : ""));
    if (start != null) {
      rows.put("rewardkit", start.get("rewardkit_version") + " (commit " + start.get("commit") + ")");
      rows.put("backend", start.get("backend") + (start.get("threads") != null ? ", --threads " + start.get("threads") : ""));
    }
    StringBuilder sb = new StringBuilder("<table class=\"run\">");
    rows.forEach((k, v) -> sb.append("<tr><th>").append(escape(k)).append("</th><td>").append(escape(v)).append("</td></tr>"));
    return sb.append("</table>").toString();
  }

  /** "train N pairs, eval M pairs; per dataset: read, kept, truncated, dropped (reasons)". */
  static String dataLine(Map<String, Object> data) {
    StringBuilder sb = new StringBuilder();
    sb.append("train ").append(count(longOf(data.get("train_pairs")))).append(" pairs, eval ")
        .append(count(longOf(data.get("eval_pairs")))).append(" pairs");
    if (data.get("eval_split") instanceof Number s && s.doubleValue() > 0) sb.append(" (eval_split ").append(s).append(')');
    for (String key : List.of("train", "eval")) {
      if (!(data.get(key) instanceof List<?> list)) continue;
      for (Object o : list) {
        Map<String, Object> d = map(o);
        sb.append("; ").append(key.equals("eval") ? "eval " : "").append(d.get("dataset")).append(": ")
            .append(count(longOf(d.get("read")))).append(" read, ").append(count(longOf(d.get("kept")))).append(" kept");
        if (longOf(d.get("truncated")) > 0) sb.append(", ").append(count(longOf(d.get("truncated")))).append(" truncated");
        sb.append(", ").append(count(longOf(d.get("dropped")))).append(" dropped");
        Map<String, Object> reasons = map(d.get("dropped_by_reason"));
        if (!reasons.isEmpty()) {
          List<String> rs = new ArrayList<>();
          reasons.forEach((k, v) -> rs.add(k + " " + v));
          sb.append(" (").append(String.join(", ", rs)).append(')');
        }
      }
    }
    return sb.toString();
  }

  private static String evalTables(EvalResult finalEval, Map<String, Object> end, Map<String, Object> lastEvalRecord) {
    Map<String, Object> lastEval = lastEvalRecord == null ? Map.of() : lastEvalRecord;
    Map<String, Object> fin = end == null ? Map.of() : map(end.get("final"));
    StringBuilder sb = new StringBuilder();
    Map<String, Object> metrics = new LinkedHashMap<>();
    if (finalEval != null && finalEval.numPairs() > 0) {
      metrics.putAll(finalEval.metrics("eval_"));
      metrics.put("eval_pairs", finalEval.numPairs());
      metrics.put("length-only baseline accuracy", finalEval.lengthBaselineAccuracy());
    } else {
      // no eval result at hand: the run_end record's final metrics, else the last eval record
      Map<String, Object> last = fin.isEmpty() ? lastEval : fin;
      last.forEach((k, v) -> { if (k.startsWith("eval_") && !MetricsRecords.WALL_CLOCK.contains(k)) metrics.put(k, v); });
    }
    if (metrics.isEmpty()) return "<h2>Final evaluation</h2><p>no eval set</p>";
    sb.append("<h2>Final evaluation</h2><div class=\"tables\"><table><tr><th>metric</th><th>value</th></tr>");
    metrics.forEach((k, v) -> sb.append("<tr><td>").append(escape(k)).append("</td><td class=\"n\">").append(fmt(v)).append("</td></tr>"));
    sb.append("</table>");
    if (finalEval != null && finalEval.numPairs() > 0) {
      sb.append("<table><tr><th>length bucket (tokens)</th><th>pairs</th><th>accuracy</th><th>length-only baseline</th></tr>");
      for (EvalResult.LengthBucket b : finalEval.lengthBuckets()) {
        sb.append("<tr><td>").append(escape(b.name())).append("</td><td class=\"n\">").append(b.pairs())
            .append("</td><td class=\"n\">").append(fmt(b.accuracy())).append("</td><td class=\"n\">")
            .append(fmt(b.lengthBaseline())).append("</td></tr>");
      }
      sb.append("</table>");
    }
    return sb.append("</div>").toString();
  }

  static Charts.Series series(String name, List<Map<String, Object>> rows, String key, java.awt.Color color, Charts.Style style) {
    List<double[]> pts = new ArrayList<>();
    for (Map<String, Object> r : rows) {
      if (r.get(key) instanceof Number v && r.get("global_step") instanceof Number s) pts.add(new double[] {s.doubleValue(), v.doubleValue()});
    }
    double[] x = new double[pts.size()], y = new double[pts.size()];
    for (int i = 0; i < x.length; i++) { x[i] = pts.get(i)[0]; y[i] = pts.get(i)[1]; }
    return new Charts.Series(name, x, y, color, style);
  }

  /** Writes a chart as dir/name (atomically) and keeps it for the page. */
  static void save(BufferedImage img, Path dir, String name, List<String[]> images) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    ImageIO.write(img, "png", buf);
    AtomicFiles.write(dir.resolve(name), o -> buf.writeTo(o));
    images.add(new String[] {name, Base64.getEncoder().encodeToString(buf.toByteArray())});
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object o) {
    return o instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
  }

  private static long longOf(Object o) { return o instanceof Number n ? n.longValue() : 0; }

  private static long lastLong(List<Map<String, Object>> metrics, String key) {
    long v = 0;
    for (Map<String, Object> r : metrics) if (r.get(key) instanceof Number n) v = n.longValue();
    return v;
  }

  private static String firstTimestamp(List<Map<String, Object>> metrics) {
    for (Map<String, Object> r : metrics) if (r.get("timestamp") instanceof String t) return t;
    return null;
  }

  private static String lastTimestamp(List<Map<String, Object>> metrics) {
    String t = null;
    for (Map<String, Object> r : metrics) if (r.get("timestamp") instanceof String s) t = s;
    return t;
  }

  private static String join(List<?> l) {
    List<String> s = new ArrayList<>();
    for (Object o : l) s.add(String.valueOf(o));
    return String.join(", ", s);
  }

  static String count(long n) { return String.format(Locale.ROOT, "%,d", n); }

  private static String num(double d) {
    return d != 0 && (Math.abs(d) < 1e-3 || Math.abs(d) >= 1e6) ? String.format(Locale.ROOT, "%.3g", d)
        : String.format(Locale.ROOT, "%s", stripZeros(d));
  }

  private static String stripZeros(double d) {
    return java.math.BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
  }

  static String clock(double secs) {
    long s = Math.round(secs);
    if (s < 60) return String.format(Locale.ROOT, "%.1f s", secs);
    return s >= 3600 ? String.format(Locale.ROOT, "%d h %02d min %02d s", s / 3600, s / 60 % 60, s % 60)
        : String.format(Locale.ROOT, "%d min %02d s", s / 60, s % 60);
  }

  private static String fmt(Object v) {
    return v instanceof Double d ? String.format(Locale.ROOT, "%.4f", d) : String.valueOf(v);
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
