package io.rewardkit.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The console line: fits the terminal (no wrap, so redraws stay on one line), falls back to plain lines. */
class ProgressBarTest {

  @Test void lineFitsEveryWidthAndKeepsTheMostUsefulFields() {
    for (int cols = ProgressBar.MIN_COLUMNS; cols <= 240; cols++) {
      String line = ProgressBar.render(cols, 12_345, 100_000, 1.23e6, 0.6931, 0.5, 3725, 86_399);
      assertTrue(line.length() <= cols - 1, cols + " columns: " + line.length() + " chars: " + line);
      assertTrue(line.contains("12345/100000"), line);
    }
    String wide = ProgressBar.render(200, 163, 649, 16_400, 0.1234, 0.9375, 12, 37);
    assertEquals("[=======>                      ] 163/649 | loss 0.1234 | acc 0.938 | 16.4k tok/s | 0:12 elapsed | ETA 0:37", wide);
    String at80 = ProgressBar.render(80, 163, 649, 16_400, 0.1234, 0.9375, 12, 37);
    assertTrue(at80.startsWith("[") && at80.contains("loss 0.1234") && at80.contains("acc 0.938") && at80.contains("ETA 0:37"), at80);
    assertFalse(at80.contains("elapsed"), "elapsed is given up first: " + at80);
    String narrow = ProgressBar.render(ProgressBar.MIN_COLUMNS, 163, 649, 16_400, 0.1234, 0.9375, 12, 37);
    assertTrue(narrow.contains("163/649") && narrow.contains("ETA"), narrow);
    assertEquals("163/649 | loss - | acc - | 16.4k tok/s | 0:12 elapsed | ETA 0:37",
        ProgressBar.render(200, 163, 649, 16_400, Double.NaN, Double.NaN, 12, 37).replaceFirst("^\\[[=> ]*\\] ", ""));
  }

  @Test void redrawsInPlaceAt80Columns() {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
    ProgressBar bar = new ProgressBar(out, 163, 0, true, () -> 80);
    for (int s = 1; s <= 163; s++) bar.update(s, 1000, 0.5, 0.75, s % 10 == 0);
    bar.finish();
    String text = buf.toString(StandardCharsets.UTF_8);
    assertEquals(1, text.chars().filter(c -> c == '\n').count(), "one line for 163 redraws");
    for (String seg : text.split("[\r\n]")) assertTrue(seg.length() <= 79, seg.length() + ": " + seg);
  }

  @Test void plainLinesWhenNarrowOrNotATerminal() {
    for (boolean tty : new boolean[] {true, false}) {
      ByteArrayOutputStream buf = new ByteArrayOutputStream();
      ProgressBar bar = new ProgressBar(new PrintStream(buf, true, StandardCharsets.UTF_8), 50, 0, tty,
          () -> ProgressBar.MIN_COLUMNS - 1);
      for (int s = 1; s <= 50; s++) bar.update(s, 10, 0.25, 1.0, s % 10 == 0);
      String text = buf.toString(StandardCharsets.UTF_8);
      assertFalse(text.contains("\r"), "no redraw");
      assertEquals(5, text.lines().count(), text);
      assertTrue(text.lines().allMatch(l -> l.startsWith("step ") && l.contains("loss 0.2500 | acc 1.000")), text);
    }
  }
}
