package io.rewardkit.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.Pointer;

/** Tracks the peak memory of the compute device during a run. */
public interface MemoryProbe {
  /** Takes one sample (called after every backend op). */
  void sample();

  /** Peak bytes in use since {@link #reset()}, above the baseline taken there. */
  long peakBytes();

  /** Starts a new measurement window. */
  void reset();

  /** What {@link #peakBytes()} measures, for the report. */
  String describe();

  /**
   * CPU: bytes held by JavaCPP allocations (every tensor), sampled after each op. Exact for tensors;
   * the JVM heap and code are reported separately as peak RSS ({@link #peakRssBytes()}).
   */
  final class Host implements MemoryProbe {
    private long baseline, peak;

    public Host() { reset(); }

    @Override public void sample() {
      long now = Pointer.totalBytes() - baseline;
      if (now > peak) peak = now;
    }
    @Override public long peakBytes() { sample(); return peak; }
    @Override public void reset() { baseline = Pointer.totalBytes(); peak = 0; }
    @Override public String describe() { return "native tensor bytes (JavaCPP) above the level after backend start, peak"; }
  }

  /** Peak resident set size of this process (VmHWM), or -1 where /proc is unavailable. */
  static long peakRssBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          String[] f = line.substring(6).trim().split("\\s+");
          return Long.parseLong(f[0]) * 1024L;
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }
}
