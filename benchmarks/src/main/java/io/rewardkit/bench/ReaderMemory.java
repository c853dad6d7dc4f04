package io.rewardkit.bench;

import io.rewardkit.data.DataOptions;
import io.rewardkit.data.DataPipeline;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads one input (any kind: JSONL, Parquet, Arrow, folder) row by row through the pipeline's
 * readers without keeping the rows, then prints rows, file size and the peak heap in use: with
 * the same rows repeated into larger files, a streaming reader's peak stays flat.
 * Run: {@code java -Xmx512m -cp "$(cat target/test-classpath.txt):target/classes:target/test-classes"
 * io.rewardkit.bench.ReaderMemory FILE} (one JVM per file).
 */
public final class ReaderMemory {
  private ReaderMemory() {}

  public static void main(String[] args) throws Exception {
    Path in = Path.of(args[0]);
    long[] rows = {0};
    long[] chars = {0};
    long t0 = System.nanoTime();
    DataPipeline.forEachRow(in, DataOptions.defaults(), (row, where) -> {
      rows[0]++;
      chars[0] += row.path("chosen").asText("").length();
    });
    double s = (System.nanoTime() - t0) / 1e9;
    long peak = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) peak += p.getPeakUsage().getUsed();
    }
    System.out.printf(java.util.Locale.ROOT, "%s: %d rows, %.1f MB file, %.2f s, peak heap used %.1f MB%n", in, rows[0],
        Files.isRegularFile(in) ? Files.size(in) / 1e6 : 0.0, s, peak / 1e6);
  }
}
