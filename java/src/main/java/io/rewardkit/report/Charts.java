package io.rewardkit.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Locale;

/** Minimal headless Java2D charts (line chart, overlaid histograms) for the training report. */
public final class Charts {
  private Charts() {}

  static { System.setProperty("java.awt.headless", "true"); }

  public record Series(String name, double[] x, double[] y, Color color) {}

  static final int W = 720, H = 400, L = 70, R = 20, T = 40, B = 50;

  public static BufferedImage lineChart(String title, String xLabel, List<Series> series) {
    double x0 = Double.POSITIVE_INFINITY, x1 = Double.NEGATIVE_INFINITY, y0 = x0, y1 = x1;
    for (Series s : series) {
      for (int i = 0; i < s.x().length; i++) {
        if (!Double.isFinite(s.y()[i])) continue;
        x0 = Math.min(x0, s.x()[i]); x1 = Math.max(x1, s.x()[i]);
        y0 = Math.min(y0, s.y()[i]); y1 = Math.max(y1, s.y()[i]);
      }
    }
    if (!Double.isFinite(x0)) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
    if (x1 == x0) x1 = x0 + 1;
    if (y1 == y0) { y0 -= 0.5; y1 += 0.5; }
    double pad = 0.05 * (y1 - y0);
    y0 -= pad; y1 += pad;
    BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = frame(img, title, xLabel, x0, x1, y0, y1);
    int legendY = T + 16;
    for (Series s : series) {
      g.setColor(s.color());
      g.setStroke(new BasicStroke(2f));
      int px = -1, py = -1;
      for (int i = 0; i < s.x().length; i++) {
        if (!Double.isFinite(s.y()[i])) continue;
        int cx = sx(s.x()[i], x0, x1), cy = sy(s.y()[i], y0, y1);
        if (px >= 0) g.drawLine(px, py, cx, cy);
        if (s.x().length < 60) g.fillOval(cx - 3, cy - 3, 6, 6);
        px = cx; py = cy;
      }
      g.fillRect(W - R - 150, legendY - 9, 12, 12);
      g.setColor(Color.DARK_GRAY);
      g.drawString(s.name(), W - R - 132, legendY + 2);
      legendY += 18;
    }
    g.dispose();
    return img;
  }

  /** Two histograms (e.g. chosen and rejected rewards) over shared bins. */
  public static BufferedImage histograms(String title, String xLabel, double[] a, String aName, double[] b, String bName, int bins) {
    double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
    for (double v : a) if (Double.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    for (double v : b) if (Double.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (!Double.isFinite(lo)) { lo = 0; hi = 1; }
    if (hi == lo) { lo -= 0.5; hi += 0.5; }
    int[] ca = count(a, lo, hi, bins), cb = count(b, lo, hi, bins);
    int max = 1;
    for (int i = 0; i < bins; i++) max = Math.max(max, Math.max(ca[i], cb[i]));
    BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = frame(img, title, xLabel, lo, hi, 0, max * 1.05);
    Color colA = new Color(46, 139, 87, 150), colB = new Color(205, 92, 92, 150);
    double w = (hi - lo) / bins;
    for (int i = 0; i < bins; i++) {
      int xa = sx(lo + i * w, lo, hi), xb = sx(lo + (i + 1) * w, lo, hi);
      g.setColor(colA);
      int ya = sy(ca[i], 0, max * 1.05);
      g.fillRect(xa, ya, Math.max(1, xb - xa - 1), H - B - ya);
      g.setColor(colB);
      int yb = sy(cb[i], 0, max * 1.05);
      g.fillRect(xa, yb, Math.max(1, xb - xa - 1), H - B - yb);
    }
    g.setColor(colA); g.fillRect(W - R - 150, T + 7, 12, 12);
    g.setColor(colB); g.fillRect(W - R - 150, T + 25, 12, 12);
    g.setColor(Color.DARK_GRAY);
    g.drawString(aName + " (" + a.length + ")", W - R - 132, T + 18);
    g.drawString(bName + " (" + b.length + ")", W - R - 132, T + 36);
    g.dispose();
    return img;
  }

  private static int[] count(double[] v, double lo, double hi, int bins) {
    int[] c = new int[bins];
    for (double x : v) {
      if (!Double.isFinite(x)) continue;
      int i = (int) ((x - lo) / (hi - lo) * bins);
      c[Math.max(0, Math.min(bins - 1, i))]++;
    }
    return c;
  }

  private static Graphics2D frame(BufferedImage img, String title, String xLabel, double x0, double x1, double y0, double y1) {
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, W, H);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
    g.setColor(Color.BLACK);
    g.drawString(title, L, 24);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
    for (int i = 0; i <= 5; i++) {
      double yv = y0 + (y1 - y0) * i / 5, xv = x0 + (x1 - x0) * i / 5;
      int py = sy(yv, y0, y1), px = sx(xv, x0, x1);
      g.setColor(new Color(230, 230, 230));
      g.drawLine(L, py, W - R, py);
      g.drawLine(px, T, px, H - B);
      g.setColor(Color.DARK_GRAY);
      g.drawString(fmt(yv), 8, py + 4);
      g.drawString(fmt(xv), px - 14, H - B + 16);
    }
    g.setColor(Color.BLACK);
    g.drawRect(L, T, W - L - R, H - T - B);
    g.drawString(xLabel, (W - L - R) / 2 + L - 20, H - 12);
    return g;
  }

  private static String fmt(double v) {
    double a = Math.abs(v);
    if (a != 0 && (a < 0.01 || a >= 1e5)) return String.format(Locale.ROOT, "%.1e", v);
    return String.format(Locale.ROOT, a >= 100 ? "%.0f" : "%.2f", v);
  }

  private static int sx(double x, double x0, double x1) { return L + (int) Math.round((x - x0) / (x1 - x0) * (W - L - R)); }
  private static int sy(double y, double y0, double y1) { return H - B - (int) Math.round((y - y0) / (y1 - y0) * (H - T - B)); }
}
