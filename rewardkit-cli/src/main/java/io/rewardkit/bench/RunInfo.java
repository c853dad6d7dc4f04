package io.rewardkit.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Where and when a figure was taken: machine, date, commit, the exact command. */
public final class RunInfo {
  private RunInfo() {}

  public static Map<String, Object> collect(String command) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("date_utc", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
    m.put("commit", commit());
    m.put("command", command);
    m.put("machine", machine());
    m.put("java", System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")");
    m.put("jvm_args", String.join(" ", java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()));
    m.put("load_average_1m_at_start", loadAverage());
    return m;
  }

  /**
   * The 1-minute load average, or -1 if unknown: figures taken on a shared machine under load are only
   * comparable with each other, so the report says how busy the machine was.
   */
  public static double loadAverage() {
    return java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }

  /** {@code <cpu model>, <n> cores, <GiB> GiB RAM}. */
  public static String machine() {
    String cpu = "unknown CPU";
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          cpu = line.substring(line.indexOf(':') + 1).trim();
          break;
        }
      }
    } catch (IOException | RuntimeException ignored) {
      // not Linux: keep "unknown CPU"
    }
    String mem = "";
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal:")) {
          long kb = Long.parseLong(line.replaceAll("\\D+", ""));
          mem = String.format(java.util.Locale.ROOT, ", %.0f GiB RAM", kb / 1048576.0);
          break;
        }
      }
    } catch (IOException | RuntimeException ignored) {
      // leave memory out
    }
    return cpu + ", " + Runtime.getRuntime().availableProcessors() + " cores" + mem;
  }

  /** {@code REWARDKIT_COMMIT}, else {@code git rev-parse --short HEAD} (+ "-dirty"), else "unknown". */
  public static String commit() {
    String env = System.getenv("REWARDKIT_COMMIT");
    if (env != null && !env.isBlank()) return env.trim();
    String head = git("rev-parse", "--short", "HEAD");
    if (head == null) return "unknown";
    String status = git("status", "--porcelain", "--untracked-files=no");
    return status == null || status.isEmpty() ? head : head + "-dirty";
  }

  private static String git(String... args) {
    try {
      String[] cmd = new String[args.length + 1];
      cmd[0] = "git";
      System.arraycopy(args, 0, cmd, 1, args.length);
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) return null;
      return out;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}
