package io.rewardkit.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.eval.EvalResult;
import io.rewardkit.train.MetricsLog;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report renders from a metrics.jsonl with every record kind (and from one written before record kinds). */
class TrainingReportTest {
  @TempDir Path tmp;

  static final String START = "{\"record\":\"run_start\",\"global_step\":0,\"rewardkit_version\":\"0.1.0\",\"commit\":\"abc123def456\","
      + "\"backend\":\"cpu\",\"model\":{\"source\":\"examples/qwen2-tiny-config.json (random init)\",\"model_type\":\"qwen2\","
      + "\"hidden_size\":256,\"num_hidden_layers\":4,\"vocab_size\":151936,\"parameters\":19800000},"
      + "\"datasets\":[\"pairs-2000.jsonl\"],\"data\":{\"train_pairs\":1746,\"eval_pairs\":194,\"train\":[{\"dataset\":\"pairs-2000\","
      + "\"read\":2000,\"kept\":1940,\"dropped\":60,\"dropped_by_reason\":{\"empty_response\":5,\"too_long\":55},"
      + "\"truncated\":0}]},\"total_steps\":12,\"resumed_from\":null,"
      + "\"options_sha256\":\"0123456789abcdef0123\",\"options\":{\"output_dir\":\"runs/hh\",\"learning_rate\":0.001,"
      + "\"lr_scheduler_type\":\"cosine\",\"max_length\":512,\"max_grad_norm\":1.0,\"seed\":42},"
      + "\"timestamp\":\"2026-11-30T10:00:00.000Z\",\"elapsed_s\":0.0}";

  static String train(int step, double loss, double elapsed) {
    return "{\"record\":\"train\",\"loss\":" + loss + ",\"accuracy\":0.5" + step + ",\"learning_rate\":0.001,\"grad_norm\":1." + step
        + ",\"global_step\":" + step + ",\"num_tokens\":" + step * 1000 + ",\"timestamp\":\"2026-11-30T10:00:0" + step % 10
        + ".000Z\",\"elapsed_s\":" + elapsed + ",\"tokens_per_s\":1000.0}";
  }

  static EvalResult eval() {
    return new EvalResult(0.6, new float[] {1, 2, 0.5f, 3}, new float[] {0, 3, 0, 1}, new int[] {40, 100, 300, 90},
        new int[] {30, 120, 200, 95}, new int[4], new long[] {0, 1, 2, 3}, List.of("pairs-2000"));
  }

  @Test void rendersAllRecordKindsWithARunHeader() throws Exception {
    Path metrics = tmp.resolve("metrics.jsonl");
    Files.write(metrics, List.of(START, train(2, 0.69, 2), train(4, 0.6567, 4),
        START.replace("\"global_step\":0", "\"global_step\":4").replace("\"resumed_from\":null", "\"resumed_from\":\"runs/hh/checkpoint-4\"")
            .replace("10:00:00.000Z", "10:30:00.000Z"),
        train(6, 0.66, 2),
        "{\"record\":\"eval\",\"eval_loss\":0.6,\"eval_accuracy\":0.75,\"global_step\":6,\"timestamp\":\"2026-11-30T10:30:07.000Z\","
            + "\"elapsed_s\":3.5,\"eval_runtime\":0.5,\"eval_tokens_per_s\":900.0}",
        "{\"record\":\"run_end\",\"global_step\":6,\"num_tokens\":6000,\"final\":{\"loss\":0.66,\"eval_accuracy\":0.75},"
            + "\"timestamp\":\"2026-11-30T10:30:08.000Z\",\"elapsed_s\":4.0,\"train_runtime\":4.0,\"tokens_per_s\":500.0}"),
        StandardCharsets.UTF_8);
    Path html = TrainingReport.write(tmp.resolve("report"), MetricsLog.read(metrics), eval(), "RewardKit training report");
    String page = Files.readString(html);
    for (String s : List.of("examples/qwen2-tiny-config.json (random init)", "qwen2", "19,800,000 parameters", "pairs-2000.jsonl",
        "train 1,746 pairs, eval 194 pairs", "pairs-2000: 2,000 read, 1,940 kept, 60 dropped (empty_response 5, too_long 55)", "learning_rate 0.001",
        "max_length 512", "fingerprint 0123456789ab", "6 of 12", "6,000", "8.0 s over 2 invocations (resumed)",
        "2026-11-30 10:00:00 → 2026-11-30 10:30:08", "0.1.0 (commit abc123def456)", "runs/hh",
        "length-only baseline", "1-64", "65-128", "257-512")) {
      assertTrue(page.contains(s), "report shows " + s + "; header: " + page.substring(page.indexOf("<table"), page.indexOf("<h2>")));
    }
    for (String f : List.of("loss", "accuracy", "learning_rate", "grad_norm", "rewards", "accuracy_by_length")) {
      BufferedImage img = ImageIO.read(tmp.resolve("report/" + f + ".png").toFile());
      assertEquals(Charts.W, img.getWidth(), f);
      assertTrue(page.contains("alt=\"" + f + ".png\" src=\"data:image/png;base64,"), "inlined " + f);
    }
    assertEquals(8.0, io.rewardkit.report.MetricsRecords.totalRuntime(MetricsLog.read(metrics)), 1e-12);
  }

  @Test void rendersAFileWithoutRecordKindsOrEval() throws Exception {
    Path metrics = tmp.resolve("metrics.jsonl");
    Files.write(metrics, List.of("{\"loss\":0.7,\"accuracy\":0.5,\"learning_rate\":0.001,\"grad_norm\":1.0,\"global_step\":10}",
        "{\"eval_loss\":0.6,\"eval_accuracy\":0.7,\"global_step\":10}"), StandardCharsets.UTF_8);
    String page = Files.readString(TrainingReport.write(tmp.resolve("r"), MetricsLog.read(metrics), null, "t"));
    assertTrue(page.contains("no run_start record"), "says what it does not know");
    assertTrue(page.contains("<td>eval_accuracy</td><td class=\"n\">0.7000</td>"), "the last eval record's metrics");
  }

  /** An eval at the last step only: a whole marker inside the plot (it used to be a dot clipped by the frame). */
  @Test void aSingleEndOnlyEvalIsAWholeVisibleMarker() {
    double[] steps = new double[60], loss = new double[60];
    for (int i = 0; i < 60; i++) { steps[i] = 10 * (i + 1); loss[i] = 0.7 - 0.004 * i; }
    BufferedImage img = Charts.lineChart("Loss", "step", "loss", true, List.of(
        new Charts.Series("train", steps, loss, Charts.BLUE, Charts.Style.LINE),
        new Charts.Series("eval", new double[] {600}, new double[] {0.3}, Charts.ORANGE, Charts.Style.POINTS)), Double.NaN, Double.NaN);
    // the marker's orange pixels form a full 9-pixel disc, away from the legend's swatch (below the plot)
    int orange = 0, minX = Integer.MAX_VALUE, maxX = 0, minY = Integer.MAX_VALUE, maxY = 0;
    for (int y = 0; y < img.getHeight() - 40; y++) {
      for (int x = 0; x < img.getWidth(); x++) {
        Color c = new Color(img.getRGB(x, y));
        if (Math.abs(c.getRed() - 255) < 30 && Math.abs(c.getGreen() - 127) < 40 && c.getBlue() < 60) {
          orange++;
          minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
        }
      }
    }
    assertTrue(orange >= 45, "orange pixels " + orange);
    assertTrue(maxX - minX >= 7 && maxY - minY >= 7, "marker box " + (maxX - minX) + "x" + (maxY - minY));
  }
}
