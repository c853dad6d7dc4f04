package io.rewardkit.report;

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
 * The end-of-run report of policy training ({@code train --task dpo|...}), a function of metrics.jsonl: the same
 * header as {@link TrainingReport} (model, data, options, steps, tokens, runtime, date, version), the final
 * evaluation (TRL's metric names, preference accuracy by implicit reward with its binomial p against chance,
 * log-prob margins) and charts of the loss, preference accuracy, implicit rewards and margins, policy log-probs,
 * learning rate and gradient norm, as PNG files and one self-contained HTML page.
 */
public final class PolicyReport {
  private PolicyReport() {}

  /** Writes the charts (PNG) and index.html under dir; returns the HTML path. */
  public static Path write(Path dir, List<Map<String, Object>> metrics, String title) throws IOException {
    Files.createDirectories(dir);
    List<Map<String, Object>> train = MetricsRecords.ofKind(metrics, MetricsRecords.TRAIN);
    List<Map<String, Object>> evals = MetricsRecords.ofKind(metrics, MetricsRecords.EVAL);
    Map<String, Object> start = MetricsRecords.last(metrics, MetricsRecords.RUN_START);
    Map<String, Object> end = MetricsRecords.last(metrics, MetricsRecords.RUN_END);
    Map<String, Object> options = TrainingReport.map(start == null ? null : start.get("options"));

    List<String[]> images = new ArrayList<>();
    TrainingReport.save(Charts.lineChart("Loss", "optimizer step", "loss", true, List.of(
        TrainingReport.series("train loss (logging-window mean)", train, "loss", Charts.BLUE, Charts.Style.LINE),
        TrainingReport.series("eval loss", evals, "eval_loss", Charts.ORANGE, Charts.Style.POINTS)), Double.NaN, Double.NaN),
        dir, "loss.png", images);
    TrainingReport.save(Charts.lineChart("Preference accuracy by implicit reward", "optimizer step", "rewards/accuracies", true, List.of(
        TrainingReport.series("train (logging-window mean)", train, "rewards/accuracies", Charts.BLUE, Charts.Style.LINE),
        TrainingReport.series("eval", evals, "eval_rewards/accuracies", Charts.ORANGE, Charts.Style.POINTS),
        Charts.reference("chance (0.5)", 0.5, Charts.GREY)), 0, 1.03), dir, "accuracy.png", images);
    TrainingReport.save(Charts.lineChart("Implicit rewards", "optimizer step", "reward", true, List.of(
        TrainingReport.series("rewards/chosen (train)", train, "rewards/chosen", Charts.BLUE, Charts.Style.LINE),
        TrainingReport.series("rewards/rejected (train)", train, "rewards/rejected", Charts.RED, Charts.Style.LINE),
        TrainingReport.series("rewards/margins (train)", train, "rewards/margins", Charts.GREEN, Charts.Style.LINE),
        TrainingReport.series("eval_rewards/margins", evals, "eval_rewards/margins", Charts.ORANGE, Charts.Style.POINTS)),
        Double.NaN, Double.NaN), dir, "rewards.png", images);
    TrainingReport.save(Charts.lineChart("Policy log-probs (Σ over the response)", "optimizer step", "log-prob", true, List.of(
        TrainingReport.series("logps/chosen (train)", train, "logps/chosen", Charts.BLUE, Charts.Style.LINE),
        TrainingReport.series("logps/rejected (train)", train, "logps/rejected", Charts.RED, Charts.Style.LINE),
        TrainingReport.series("eval_logps/chosen", evals, "eval_logps/chosen", Charts.ORANGE, Charts.Style.POINTS),
        TrainingReport.series("eval_logps/rejected", evals, "eval_logps/rejected", Charts.GREY, Charts.Style.POINTS)),
        Double.NaN, Double.NaN), dir, "logps.png", images);
    TrainingReport.save(Charts.lineChart("Learning rate", "optimizer step", "learning rate", true, List.of(
        TrainingReport.series("learning rate", train, "learning_rate", Charts.GREEN, Charts.Style.LINE)), 0, Double.NaN),
        dir, "learning_rate.png", images);
    List<Charts.Series> gn = new ArrayList<>(List.of(
        TrainingReport.series("grad norm before clipping (logging-window mean)", train, "grad_norm", Charts.RED, Charts.Style.LINE)));
    if (options.get("max_grad_norm") instanceof Number clip && clip.doubleValue() > 0) {
      gn.add(Charts.reference("max_grad_norm (" + clip + ")", clip.doubleValue(), Charts.GREY));
    }
    TrainingReport.save(Charts.lineChart("Gradient norm", "optimizer step", "global L2 norm", true, gn, 0, Double.NaN),
        dir, "grad_norm.png", images);

    StringBuilder html = TrainingReport.pageHead(title, options);
    html.append(TrainingReport.header(metrics, start, end, options));
    html.append(evalTable(MetricsRecords.last(metrics, MetricsRecords.EVAL)));
    return TrainingReport.writePage(html, images, dir);
  }

  /** The last eval record's metrics (wall-clock fields left out). */
  static String evalTable(Map<String, Object> lastEval) {
    if (lastEval == null) return "<h2>Final evaluation</h2><p>no eval set</p>";
    Map<String, Object> m = new LinkedHashMap<>();
    lastEval.forEach((k, v) -> {
      if (k.startsWith("eval_") && !MetricsRecords.WALL_CLOCK.contains(k)) m.put(k, v);
    });
    StringBuilder sb = new StringBuilder("<h2>Final evaluation (step ").append(lastEval.get("global_step"))
        .append(")</h2><table><tr><th>metric</th><th>value</th></tr>");
    m.forEach((k, v) -> sb.append("<tr><td>").append(escape(k)).append("</td><td class=\"n\">")
        .append(v instanceof Double d ? (k.endsWith("binomial_p") ? String.format(Locale.ROOT, "%.3g", d)
            : String.format(Locale.ROOT, "%.4f", d)) : escape(String.valueOf(v))).append("</td></tr>"));
    return sb.append("</table>").toString();
  }


  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
