package io.rewardkit.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.image.BufferedImage;
import java.math.BigDecimal;
import java.text.FieldPosition;
import java.text.NumberFormat;
import java.text.ParsePosition;
import java.util.List;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.block.BlockBorder;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.StandardXYBarPainter;
import org.jfree.chart.renderer.xy.XYBarRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.statistics.HistogramDataset;
import org.jfree.data.statistics.HistogramType;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The report's charts, drawn with JFreeChart: 1-2-5 ticks ({@link NiceTicks}) with exact labels,
 * axis labels on both axes, the legend below the plot (never over the data), points for sparse
 * series (an eval at the end only is a visible marker inside the plot, not a clipped dot).
 */
public final class Charts {
  private Charts() {}

  static { System.setProperty("java.awt.headless", "true"); }

  public static final int W = 640, H = 380;
  static final int MAX_X_INTERVALS = 8, MAX_Y_INTERVALS = 6;

  public static final Color BLUE = new Color(31, 119, 180), ORANGE = new Color(255, 127, 14),
      GREEN = new Color(44, 160, 44), RED = new Color(214, 39, 40), GREY = new Color(110, 110, 110);

  /** How a series is drawn: a line, points joined by a line, or a dashed reference line. */
  public enum Style { LINE, POINTS, REFERENCE }

  public record Series(String name, double[] x, double[] y, Color color, Style style) {
    public Series {
      if (x.length != y.length) throw new IllegalArgumentException(name + ": " + x.length + " x values, " + y.length + " y values");
    }
    boolean isEmpty() {
      for (double v : y) if (Double.isFinite(v)) return false;
      return true;
    }
  }

  /** A horizontal reference line across the x range of the other series (e.g. a baseline). */
  public static Series reference(String name, double y, Color color) {
    return new Series(name, new double[] {Double.NaN}, new double[] {y}, color, Style.REFERENCE);
  }

  /**
   * Line chart of several series over a shared x axis (integer ticks when integerX). Series with no
   * finite value are left out (and out of the legend). yFloor/yCeil clip the padded y range (NaN: none).
   */
  public static BufferedImage lineChart(String title, String xLabel, String yLabel, boolean integerX, List<Series> series,
      double yFloor, double yCeil) {
    double x0 = Double.POSITIVE_INFINITY, x1 = Double.NEGATIVE_INFINITY, y0 = x0, y1 = x1;
    for (Series s : series) {
      if (s.style() == Style.REFERENCE) continue;  // spans whatever the data spans
      for (int i = 0; i < s.x().length; i++) {
        if (!Double.isFinite(s.y()[i])) continue;
        x0 = Math.min(x0, s.x()[i]); x1 = Math.max(x1, s.x()[i]);
      }
    }
    if (!Double.isFinite(x0)) { x0 = 0; x1 = 1; }
    if (integerX && x0 > 0) x0 = 0;  // steps: the axis starts where training started
    if (x1 == x0) { x0 -= integerX ? 1 : 0.5; x1 += integerX ? 1 : 0.5; }
    XYSeriesCollection data = new XYSeriesCollection();
    XYLineAndShapeRenderer r = new XYLineAndShapeRenderer();
    int k = 0;
    for (Series s : series) {
      XYSeries xs = new XYSeries(s.name(), false, true);
      if (s.style() == Style.REFERENCE) {
        double level = s.y()[0];
        if (!Double.isFinite(level)) continue;
        xs.add(x0, level);
        xs.add(x1, level);
      } else {
        if (s.isEmpty()) continue;
        for (int i = 0; i < s.x().length; i++) if (Double.isFinite(s.y()[i])) xs.add(s.x()[i], s.y()[i]);
      }
      for (int i = 0; i < xs.getItemCount(); i++) {
        y0 = Math.min(y0, xs.getY(i).doubleValue());
        y1 = Math.max(y1, xs.getY(i).doubleValue());
      }
      data.addSeries(xs);
      r.setSeriesPaint(k, s.color());
      switch (s.style()) {
        case LINE -> {
          r.setSeriesShapesVisible(k, xs.getItemCount() == 1);  // a lone value still shows
          r.setSeriesStroke(k, new BasicStroke(1.8f));
        }
        case POINTS -> {
          r.setSeriesShapesVisible(k, true);
          r.setSeriesShape(k, new Ellipse2D.Double(-4.5, -4.5, 9, 9));
          r.setSeriesStroke(k, new BasicStroke(1.5f));
        }
        case REFERENCE -> {
          r.setSeriesShapesVisible(k, false);
          r.setSeriesStroke(k, new BasicStroke(1.4f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
        }
      }
      k++;
    }
    if (!Double.isFinite(y0)) { y0 = 0; y1 = 1; }
    if (y1 == y0) { double d = Math.max(Math.abs(y0) * 0.1, 0.5); y0 -= d; y1 += d; }
    // padding keeps markers at the edges (the last step's eval) inside the plot
    double padY = 0.06 * (y1 - y0), padX = 0.025 * (x1 - x0);
    double lo = y0 - padY, hi = y1 + padY;
    if (!Double.isNaN(yFloor)) lo = Math.max(lo, yFloor);
    if (!Double.isNaN(yCeil)) hi = Math.min(hi, yCeil);
    NumberAxis xAxis = axis(xLabel, x0 - padX, x1 + padX, MAX_X_INTERVALS, integerX);
    NumberAxis yAxis = axis(yLabel, lo, hi, MAX_Y_INTERVALS, false);
    XYPlot plot = new XYPlot(data, xAxis, yAxis, r);
    return render(style(new JFreeChart(title, titleFont(), plot, true), plot));
  }

  /** Overlaid histograms (e.g. chosen and rejected rewards) over shared bins of a 1-2-5 width; counts on y. */
  public static BufferedImage histograms(String title, String xLabel, String yLabel, double[] a, String aName, double[] b,
      String bName, int maxBins) {
    double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
    for (double[] v : List.of(a, b)) for (double x : v) if (Double.isFinite(x)) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
    if (!Double.isFinite(lo)) { lo = 0; hi = 1; }
    if (hi == lo) { lo -= 0.5; hi += 0.5; }
    BigDecimal width = NiceTicks.step(lo, hi, maxBins);
    double w = width.doubleValue();
    double min = Math.floor(lo / w) * w, max = Math.ceil(hi / w) * w;
    if (max <= min) max = min + w;
    int bins = (int) Math.max(1, Math.round((max - min) / w));
    HistogramDataset data = new HistogramDataset();
    data.setType(HistogramType.FREQUENCY);
    data.addSeries(aName + " (" + a.length + ")", finite(a), bins, min, max);
    data.addSeries(bName + " (" + b.length + ")", finite(b), bins, min, max);
    int maxCount = 1;
    for (int s = 0; s < 2; s++) for (int i = 0; i < bins; i++) maxCount = Math.max(maxCount, (int) Math.round(data.getYValue(s, i)));
    XYBarRenderer r = new XYBarRenderer();
    r.setBarPainter(new StandardXYBarPainter());
    r.setShadowVisible(false);
    r.setDrawBarOutline(false);
    r.setSeriesPaint(0, new Color(44, 160, 44, 150));
    r.setSeriesPaint(1, new Color(214, 39, 40, 130));
    NumberAxis xAxis = axis(xLabel, min, max, MAX_X_INTERVALS, false);
    NumberAxis yAxis = axis(yLabel, 0, maxCount * 1.08, MAX_Y_INTERVALS, true);
    XYPlot plot = new XYPlot(data, xAxis, yAxis, r);
    return render(style(new JFreeChart(title, titleFont(), plot, true), plot));
  }

  /** Grouped bars per category (e.g. accuracy per length bucket) on a [0, 1] axis, values printed on the bars. */
  public static BufferedImage bars(String title, String xLabel, String yLabel, List<String> categories,
      List<String> seriesNames, List<double[]> values, List<Color> colors) {
    DefaultCategoryDataset data = new DefaultCategoryDataset();
    for (int s = 0; s < seriesNames.size(); s++) {
      for (int c = 0; c < categories.size(); c++) data.addValue(values.get(s)[c], seriesNames.get(s), categories.get(c));
    }
    BarRenderer r = new BarRenderer();
    r.setBarPainter(new StandardBarPainter());
    r.setShadowVisible(false);
    r.setItemMargin(0.02);
    for (int s = 0; s < colors.size(); s++) r.setSeriesPaint(s, colors.get(s));
    r.setDefaultItemLabelGenerator(new StandardCategoryItemLabelGenerator("{2}", new ExactFormat(new BigDecimal("0.01"))));
    r.setDefaultItemLabelsVisible(true);
    r.setDefaultItemLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
    CategoryAxis xAxis = new CategoryAxis(xLabel);
    xAxis.setLabelFont(labelFont());
    xAxis.setTickLabelFont(tickFont());
    // few categories: wide side margins instead of bars as wide as the plot
    double side = Math.max(0.05, 0.3 - 0.05 * (categories.size() - 1));
    xAxis.setLowerMargin(side);
    xAxis.setUpperMargin(side);
    NumberAxis yAxis = axis(yLabel, 0, 1.1, MAX_Y_INTERVALS, false);
    CategoryPlot plot = new CategoryPlot(data, xAxis, yAxis, r);
    plot.setOrientation(PlotOrientation.VERTICAL);
    plot.setBackgroundPaint(Color.WHITE);
    plot.setOutlinePaint(new Color(180, 180, 180));
    plot.setRangeGridlinePaint(new Color(225, 225, 225));
    plot.setRangeGridlineStroke(new BasicStroke(1f));
    JFreeChart chart = new JFreeChart(title, titleFont(), plot, true);
    styleChart(chart);
    return render(chart);
  }

  /** A number axis over [lo, hi] with 1-2-5 ticks and exact labels. */
  static NumberAxis axis(String label, double lo, double hi, int maxIntervals, boolean integer) {
    NumberAxis a = new NumberAxis(label);
    a.setAutoRange(false);
    a.setRange(lo, hi);
    BigDecimal step = integer ? NiceTicks.integerStep(lo, hi, maxIntervals) : NiceTicks.step(lo, hi, maxIntervals);
    a.setTickUnit(new NumberTickUnit(step.doubleValue(), new ExactFormat(step)));
    a.setLabelFont(labelFont());
    a.setTickLabelFont(tickFont());
    a.setTickLabelPaint(new Color(60, 60, 60));
    a.setAxisLinePaint(new Color(150, 150, 150));
    return a;
  }

  private static JFreeChart style(JFreeChart chart, XYPlot plot) {
    plot.setBackgroundPaint(Color.WHITE);
    plot.setOutlinePaint(new Color(180, 180, 180));
    plot.setDomainGridlinePaint(new Color(225, 225, 225));
    plot.setRangeGridlinePaint(new Color(225, 225, 225));
    plot.setDomainGridlineStroke(new BasicStroke(1f));
    plot.setRangeGridlineStroke(new BasicStroke(1f));
    plot.setAxisOffset(RectangleInsets.ZERO_INSETS);
    styleChart(chart);
    return chart;
  }

  private static void styleChart(JFreeChart chart) {
    chart.setBackgroundPaint(Color.WHITE);
    chart.setAntiAlias(true);
    chart.setTextAntiAlias(RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
    chart.setPadding(new RectangleInsets(4, 4, 4, 12));
    TextTitle t = chart.getTitle();
    t.setHorizontalAlignment(org.jfree.chart.ui.HorizontalAlignment.LEFT);
    t.setPadding(new RectangleInsets(4, 8, 6, 4));
    LegendTitle legend = chart.getLegend();
    legend.setPosition(RectangleEdge.BOTTOM);  // outside the plot area: never over the curves
    legend.setFrame(BlockBorder.NONE);
    legend.setItemFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    legend.setBackgroundPaint(Color.WHITE);
  }

  private static BufferedImage render(JFreeChart chart) {
    return chart.createBufferedImage(W, H);
  }

  private static Font titleFont() { return new Font(Font.SANS_SERIF, Font.BOLD, 15); }
  private static Font labelFont() { return new Font(Font.SANS_SERIF, Font.PLAIN, 12); }
  private static Font tickFont() { return new Font(Font.SANS_SERIF, Font.PLAIN, 11); }

  private static double[] finite(double[] v) {
    return java.util.Arrays.stream(v).filter(Double::isFinite).toArray();
  }

  /** Prints values with the step's decimal places, exactly (never "-0.00" for a rounding-noise zero). */
  static final class ExactFormat extends NumberFormat {
    private final BigDecimal step;

    ExactFormat(BigDecimal step) { this.step = step; }

    @Override public StringBuffer format(double v, StringBuffer to, FieldPosition pos) {
      String s = NiceTicks.label(v, step);
      if (s.startsWith("-") && s.replaceAll("[-0.]", "").isEmpty()) s = s.substring(1);
      return to.append(s);
    }

    @Override public StringBuffer format(long v, StringBuffer to, FieldPosition pos) { return format((double) v, to, pos); }

    @Override public Number parse(String source, ParsePosition pos) {
      throw new UnsupportedOperationException("display only");
    }
  }
}
