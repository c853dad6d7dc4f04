package io.rewardkit.train;

import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * Console progress. On a terminal at least {@link #MIN_COLUMNS} wide: one line redrawn in place,
 * never longer than the terminal's width minus one (a full-width line makes some terminals wrap, and
 * then every redraw leaves a line behind); fields are dropped, least useful first, when they do not
 * fit. Otherwise (narrow terminal, redirected output, CI): one plain line per logging step. The loss
 * and accuracy shown are the last values written to metrics.jsonl (the logging window's means).
 */
public final class ProgressBar {
  /** Narrower terminals get plain lines instead of a bar. */
  public static final int MIN_COLUMNS = 40;
  private static final long REQUERY_NANOS = TimeUnit.SECONDS.toNanos(5);

  private final PrintStream out;
  private final boolean terminal;
  private final IntSupplier columnsSource;
  private final long total;
  private final long startNanos = System.nanoTime();
  private final long startStep;
  private long tokens;
  private int columns;
  private long columnsAt;
  private int drawnLength;
  private boolean drawn;

  /**
   * @param tty     whether out is a terminal (see {@link #isTerminal()})
   * @param columns the terminal's width, asked again every few seconds (resizes); see {@link #terminalColumns()}
   */
  public ProgressBar(PrintStream out, long total, long startStep, boolean tty, IntSupplier columns) {
    this.out = out;
    this.total = total;
    this.startStep = startStep;
    this.terminal = tty;
    this.columnsSource = columns;
    if (tty) {
      this.columns = columns.getAsInt();
      this.columnsAt = System.nanoTime();
    }
  }

  /**
   * Whether standard output is a terminal. On JDK 22+ System.console() is non-null even when output
   * is redirected, so ask Console.isTerminal() there (by reflection: the source level is 17).
   */
  public static boolean isTerminal() {
    java.io.Console console = System.console();
    if (console == null) return false;
    try {
      return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(console);
    } catch (ReflectiveOperationException e) {
      return true;  // JDK < 22: a console exists only for a terminal
    }
  }

  /**
   * The controlling terminal's width: {@code stty size} on /dev/tty (the JDK has no API for it),
   * else $COLUMNS, else 80.
   */
  public static int terminalColumns() {
    try {
      Process p = new ProcessBuilder("stty", "size").redirectInput(new File("/dev/tty"))
          .redirectError(ProcessBuilder.Redirect.DISCARD).start();
      String s = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
      if (p.waitFor(2, TimeUnit.SECONDS) && p.exitValue() == 0) {
        String[] parts = s.split("\\s+");
        if (parts.length == 2) {
          int c = Integer.parseInt(parts[1]);
          if (c > 0) return c;
        }
      }
    } catch (Exception e) {
      // no stty or no controlling terminal: fall through
    }
    try {
      int c = Integer.parseInt(System.getenv().getOrDefault("COLUMNS", "").trim());
      if (c > 0) return c;
    } catch (NumberFormatException e) {
      // not set
    }
    return 80;
  }

  /**
   * Call after every optimizer step with the last logged loss/accuracy (NaN before the first log);
   * printLine: a logging step (plain-line mode prints one line then).
   */
  public void update(long step, long stepTokens, double loss, double accuracy, boolean printLine) {
    tokens += stepTokens;
    double secs = Math.max(1e-9, (System.nanoTime() - startNanos) / 1e9);
    double tokPerSec = tokens / secs;
    long done = step - startStep;
    double eta = done > 0 ? secs / done * (total - step) : Double.NaN;
    if (terminal && System.nanoTime() - columnsAt > REQUERY_NANOS) {
      columns = columnsSource.getAsInt();
      columnsAt = System.nanoTime();
    }
    if (terminal && columns >= MIN_COLUMNS) {
      String line = render(columns, step, total, tokPerSec, loss, accuracy, secs, eta);
      out.print("\r" + line + " ".repeat(Math.max(0, Math.min(drawnLength, columns - 1) - line.length())));
      out.flush();
      drawnLength = line.length();
      drawn = true;
    } else if (printLine || step == total) {
      out.println("step " + String.join(" | ", fields(step, total, tokPerSec, loss, accuracy, secs, eta)));
    }
  }

  /** The fields of a progress line, in display order. */
  private static List<String> fields(long step, long total, double tokPerSec, double loss, double accuracy,
      double secs, double eta) {
    List<String> f = new ArrayList<>();
    f.add(step + "/" + total);
    f.add("loss " + (Double.isNaN(loss) ? "-" : String.format(Locale.ROOT, "%.4f", loss)));
    f.add("acc " + (Double.isNaN(accuracy) ? "-" : String.format(Locale.ROOT, "%.3f", accuracy)));
    f.add(human(tokPerSec) + " tok/s");
    f.add(clock(secs) + " elapsed");
    f.add("ETA " + (Double.isNaN(eta) ? "?" : clock(eta)));
    return f;
  }

  /** Display indices in the order they are given up when the line does not fit: elapsed, tok/s, acc, loss. */
  private static final int[] DROP_ORDER = {4, 3, 2, 1};
  private static final int MAX_BAR = 30, MIN_BAR = 10;

  /** One bar line of at most columns - 1 characters. */
  static String render(int columns, long step, long total, double tokPerSec, double loss, double accuracy,
      double secs, double eta) {
    int avail = columns - 1;
    List<String> f = fields(step, total, tokPerSec, loss, accuracy, secs, eta);
    boolean[] keep = new boolean[f.size()];
    java.util.Arrays.fill(keep, true);
    String text = join(f, keep);
    for (int i = 0; i < DROP_ORDER.length && text.length() + MIN_BAR + 3 > avail; i++) {
      keep[DROP_ORDER[i]] = false;
      text = join(f, keep);
    }
    int barWidth = Math.min(MAX_BAR, avail - text.length() - 3);
    if (barWidth < MIN_BAR) return text.length() <= avail ? text : text.substring(0, avail);
    int filled = (int) (barWidth * Math.min(step, total) / Math.max(1, total));
    String bar = "=".repeat(filled) + (filled < barWidth ? ">" : "") + " ".repeat(Math.max(0, barWidth - filled - 1));
    return "[" + bar + "] " + text;
  }

  private static String join(List<String> f, boolean[] keep) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < f.size(); i++) {
      if (!keep[i]) continue;
      if (sb.length() > 0) sb.append(" | ");
      sb.append(f.get(i));
    }
    return sb.toString();
  }

  /** Prints a message on its own line (ends the bar's line first). */
  public void println(String message) {
    if (drawn) out.println();
    drawn = false;
    drawnLength = 0;
    out.println(message);
  }

  public void finish() {
    if (drawn) out.println();
    drawn = false;
    drawnLength = 0;
  }

  public double elapsedSeconds() { return (System.nanoTime() - startNanos) / 1e9; }

  static String human(double v) {
    if (v >= 1e6) return String.format(Locale.ROOT, "%.2fM", v / 1e6);
    if (v >= 1e3) return String.format(Locale.ROOT, "%.1fk", v / 1e3);
    return String.format(Locale.ROOT, "%.0f", v);
  }

  static String clock(double secs) {
    long s = Math.round(secs);
    return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
        : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
  }
}
