package io.rewardkit.report;

import io.rewardkit.eval.EvalResult;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * The end-of-run report: loss and accuracy curves from metrics.jsonl, chosen/rejected reward
 * histograms from the final evaluation, as PNG files and one self-contained HTML page (images inlined).
 */
public final class TrainingReport {
  private TrainingReport() {}

  /** Writes report/{loss,accuracy,rewards}.png and report/index.html under dir; returns the HTML path. */
  public static Path write(Path dir, List<Map<String, Object>> metrics, EvalResult finalEval, String title) throws IOException {
    Files.createDirectories(dir);
    List<String> imgs = new ArrayList<>();
    BufferedImage loss = Charts.lineChart("Loss", "step", List.of(
        series("train loss", metrics, "loss", new Color(31, 119, 180)),
        series("eval loss", metrics, "eval_loss", new Color(255, 127, 14))));
    BufferedImage acc = Charts.lineChart("Accuracy", "step", List.of(
        series("train accuracy", metrics, "accuracy", new Color(31, 119, 180)),
        series("eval accuracy", metrics, "eval_accuracy", new Color(255, 127, 14))));
    save(loss, dir.resolve("loss.png"), imgs);
    save(acc, dir.resolve("accuracy.png"), imgs);
    StringBuilder table = new StringBuilder();
    if (finalEval != null && finalEval.numPairs() > 0) {
      double[] c = new double[finalEval.numPairs()], r = new double[finalEval.numPairs()];
      for (int i = 0; i < c.length; i++) { c[i] = finalEval.chosen()[i]; r[i] = finalEval.rejected()[i]; }
      save(Charts.histograms("Rewards on the eval set", "reward", c, "chosen", r, "rejected", 40),
          dir.resolve("rewards.png"), imgs);
      table.append("<table><tr><th>metric</th><th>value</th></tr>");
      for (Map.Entry<String, Object> e : finalEval.metrics("eval_").entrySet()) {
        table.append("<tr><td>").append(e.getKey()).append("</td><td>").append(fmt(e.getValue())).append("</td></tr>");
      }
      table.append("<tr><td>eval pairs</td><td>").append(finalEval.numPairs()).append("</td></tr>");
      table.append("<tr><td>length-only baseline accuracy</td><td>").append(fmt(finalEval.lengthBaselineAccuracy())).append("</td></tr>");
      table.append("</table>");
    }
    StringBuilder html = new StringBuilder();
    html.append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>").append(escape(title))
        .append("</title><style>body{font-family:sans-serif;max-width:780px;margin:2em auto;color:#222}"
            + "td,th{padding:2px 10px;text-align:left}img{border:1px solid #ddd;margin:8px 0}</style></head><body>")
        .append("<h1>").append(escape(title)).append("</h1>").append(table);
    for (String b64 : imgs) html.append("<div><img alt=\"chart\" src=\"data:image/png;base64,").append(b64).append("\"></div>");
    html.append("</body></html>\n");
    Path index = dir.resolve("index.html");
    Files.writeString(index, html, StandardCharsets.UTF_8);
    return index;
  }

  private static Charts.Series series(String name, List<Map<String, Object>> rows, String key, Color color) {
    List<double[]> pts = new ArrayList<>();
    for (Map<String, Object> r : rows) {
      if (r.get(key) instanceof Number v && r.get("global_step") instanceof Number s) pts.add(new double[] {s.doubleValue(), v.doubleValue()});
    }
    double[] x = new double[pts.size()], y = new double[pts.size()];
    for (int i = 0; i < x.length; i++) { x[i] = pts.get(i)[0]; y[i] = pts.get(i)[1]; }
    return new Charts.Series(name, x, y, color);
  }

  private static void save(BufferedImage img, Path file, List<String> b64) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    ImageIO.write(img, "png", buf);
    Files.write(file, buf.toByteArray());
    b64.add(Base64.getEncoder().encodeToString(buf.toByteArray()));
  }

  private static String fmt(Object v) {
    return v instanceof Double d ? String.format(Locale.ROOT, "%.4f", d) : String.valueOf(v);
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
