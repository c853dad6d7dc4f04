package io.rewardkit.train;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Console progress: a redrawn bar with ETA, tokens/s and the latest loss/accuracy on a terminal;
 * one plain line per logging step otherwise (logs, CI).
 */
public final class ProgressBar {
  private final PrintStream out;
  private final boolean tty;
  private final long total;
  private final long startNanos = System.nanoTime();
  private final long startStep;
  private long tokens;
  private boolean drawn;

  public ProgressBar(PrintStream out, long total, long startStep, boolean tty) {
    this.out = out;
    this.total = total;
    this.startStep = startStep;
    this.tty = tty;
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

  /** Call after every optimizer step; printLine forces a line in non-terminal mode. */
  public void update(long step, long stepTokens, double loss, double accuracy, boolean printLine) {
    tokens += stepTokens;
    double secs = Math.max(1e-9, (System.nanoTime() - startNanos) / 1e9);
    double tokPerSec = tokens / secs;
    long done = step - startStep;
    double eta = done > 0 ? secs / done * (total - step) : Double.NaN;
    String stats = String.format(Locale.ROOT, "%d/%d | %s tok/s | loss %.4f | acc %.3f | %s elapsed | ETA %s",
        step, total, human(tokPerSec), loss, accuracy, clock(secs), Double.isNaN(eta) ? "?" : clock(eta));
    if (tty) {
      int width = 24, filled = (int) (width * step / Math.max(1, total));
      out.print("\r[" + "=".repeat(filled) + (filled < width ? ">" : "") + " ".repeat(Math.max(0, width - filled - 1))
          + "] " + stats + "   ");
      out.flush();
      drawn = true;
    } else if (printLine || step == total) {
      out.println("step " + stats);
    }
  }

  /** Prints a message on its own line (ends the bar's line first). */
  public void println(String message) {
    if (drawn) out.println();
    drawn = false;
    out.println(message);
  }

  public void finish() {
    if (drawn) out.println();
    drawn = false;
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
