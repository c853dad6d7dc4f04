package io.rewardkit.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns a JMH JSON result file into a markdown report: each {@link HotPathOpsBenchmark} row as GB/s or
 * GFLOP/s ({@link OpCases#cost}) and as a share of the ceiling measured by {@link CeilingsBenchmark} in
 * the same file (copy bandwidth for memory-bound ops, GEMM rate for compute-bound ones); every other
 * benchmark as its raw score.
 *
 * <p>Usage: {@code JmhReport results.json [command]} (markdown on stdout).
 */
public final class JmhReport {
  private JmhReport() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 1) {
      System.err.println("usage: JmhReport <jmh-result.json> [command line to record]");
      System.exit(2);
    }
    JsonNode root = new ObjectMapper().readTree(Path.of(args[0]).toFile());
    System.out.print(render(root, args.length > 1 ? args[1] : null));
  }

  /** Time per call in seconds: device-event time when present (GPU), else the JMH average. */
  static double seconds(JsonNode r) {
    JsonNode sec = r.path("secondaryMetrics");
    double calls = sec.path("deviceCalls").path("score").asDouble(0);
    if (calls > 0) return sec.path("deviceNanos").path("score").asDouble() / calls * 1e-9;
    return r.path("primaryMetric").path("score").asDouble() * unitSeconds(r.path("primaryMetric").path("scoreUnit").asText());
  }

  static double errorSeconds(JsonNode r) {
    return r.path("primaryMetric").path("scoreError").asDouble(Double.NaN)
        * unitSeconds(r.path("primaryMetric").path("scoreUnit").asText());
  }

  static double unitSeconds(String unit) {
    return switch (unit) {
      case "s/op" -> 1;
      case "ms/op" -> 1e-3;
      case "us/op" -> 1e-6;
      case "ns/op" -> 1e-9;
      default -> throw new IllegalArgumentException("unsupported JMH unit " + unit + " (use AverageTime)");
    };
  }

  static String method(JsonNode r) {
    String b = r.path("benchmark").asText();
    return b.substring(b.lastIndexOf('.', b.lastIndexOf('.') - 1) + 1);
  }

  static boolean gpuRowRan(JsonNode r) {
    return r.path("secondaryMetrics").path("deviceCalls").path("score").asDouble(0) > 0;
  }

  /** Ceilings found in the results: {cpuGemm, cpuCopy, gpuGemm, gpuCopy} in FLOP/s and bytes/s (NaN if absent). */
  static double[] ceilings(JsonNode root) {
    double[] c = {Double.NaN, Double.NaN, Double.NaN, Double.NaN};
    for (JsonNode r : root) {
      JsonNode p = r.path("params");
      switch (method(r)) {
        case "CeilingsBenchmark.cpuSgemm" -> {
          double n = p.path("n").asDouble();
          c[0] = 2 * n * n * n / seconds(r);
        }
        case "CeilingsBenchmark.cpuMemcpy" -> c[1] = 2 * p.path("copyBytes").asDouble() / seconds(r);
        case "CeilingsBenchmark.gpuLtGemm" -> {
          if (gpuRowRan(r)) {
            double n = p.path("gpuN").asDouble();
            c[2] = 2 * n * n * n / seconds(r);
          }
        }
        case "CeilingsBenchmark.gpuCopy" -> {
          if (gpuRowRan(r)) c[3] = 2 * p.path("gpuCopyBytes").asDouble() / seconds(r);
        }
        default -> { }
      }
    }
    return c;
  }

  public static String render(JsonNode root, String command) {
    StringBuilder sb = new StringBuilder();
    double[] c = ceilings(root);
    if (command != null) sb.append("Command: `").append(command).append("`\n\n");
    sb.append("Ceilings (same run): ");
    sb.append(String.format(Locale.ROOT, "CPU sgemm %s GFLOP/s, CPU memcpy %s GB/s", f1(c[0] / 1e9), f1(c[1] / 1e9)));
    if (!Double.isNaN(c[2])) sb.append(String.format(Locale.ROOT, "; GPU cuBLASLt bf16 %s TFLOP/s, GPU D2D copy %s GB/s",
        f1(c[2] / 1e12), f1(c[3] / 1e9)));
    sb.append("\n\n");

    List<String> rows = new ArrayList<>();
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (JsonNode r : root) {
      if (!method(r).equals("HotPathOpsBenchmark.run")) continue;
      JsonNode p = r.path("params");
      seen.add(p.path("op").asText());
      String op = p.path("op").asText(), shape = p.path("shape").asText(), device = p.path("device").asText();
      int tokens = p.path("tokens").asInt(), seqlen = p.path("seqlen").asInt();
      boolean gpu = device.equals("cuda");
      OpCases.Cost cost = OpCases.cost(op, ModelShape.byName(shape), tokens, seqlen, gpu ? 2 : 4);
      double s = seconds(r);
      double gemm = gpu ? c[2] : c[0], copy = gpu ? c[3] : c[1];
      String rate, share;
      if (cost.computeBound()) {
        rate = f1(cost.flops() / s / 1e9) + " GFLOP/s";
        share = pct(cost.flops() / s / gemm) + " of GEMM";
      } else {
        rate = f1(cost.bytes() / s / 1e9) + " GB/s";
        share = pct(cost.bytes() / s / copy) + " of copy";
      }
      rows.add(String.format(Locale.ROOT, "| %s | %s | %d | %d | %s | %s | %s | %s | %s |", op, shape, tokens, seqlen, device,
          f1(s * 1e6), f1(errorSeconds(r) * 1e6), rate, share));
    }
    if (!rows.isEmpty()) {
      sb.append("| op | shape | tokens | seqlen | device | µs/call | ± (99.9%) | rate | vs ceiling |\n");
      sb.append("|---|---|---:|---:|---|---:|---:|---:|---:|\n");
      rows.forEach(x -> sb.append(x).append('\n'));
      sb.append('\n');
    }

    List<String> other = new ArrayList<>();
    for (JsonNode r : root) {
      String m = method(r);
      if (m.startsWith("HotPathOpsBenchmark.") || m.startsWith("CeilingsBenchmark.")) continue;
      JsonNode pm = r.path("primaryMetric");
      other.add(String.format(Locale.ROOT, "| %s | %s | %s %s | %s |", m, params(r.path("params")),
          f3(pm.path("score").asDouble()), pm.path("scoreUnit").asText(), f3(pm.path("scoreError").asDouble())));
      for (Iterator<Map.Entry<String, JsonNode>> it = r.path("secondaryMetrics").fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        other.add(String.format(Locale.ROOT, "| %s · %s | %s | %s %s | %s |", m, e.getKey(), params(r.path("params")),
            f3(e.getValue().path("score").asDouble()), e.getValue().path("scoreUnit").asText(),
            f3(e.getValue().path("scoreError").asDouble())));
      }
    }
    if (!other.isEmpty()) {
      sb.append("| benchmark | params | score | ± (99.9%) |\n|---|---|---:|---:|\n");
      other.forEach(x -> sb.append(x).append('\n'));
      sb.append('\n');
    }
    if (!rows.isEmpty()) {
      List<String> missing = OpCases.NAMES.stream().filter(o -> !seen.contains(o)).toList();
      if (!missing.isEmpty()) {
        sb.append("Not in this file (failed in JMH or not selected): ").append(String.join(", ", missing)).append("\n\n");
      }
    }
    return sb.toString();
  }

  private static String params(JsonNode p) {
    List<String> kv = new ArrayList<>();
    p.fields().forEachRemaining(e -> kv.add(e.getKey() + "=" + e.getValue().asText()));
    return String.join(", ", kv);
  }

  static String f1(double v) { return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%,.1f", v); }
  static String f3(double v) { return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%,.3f", v); }
  static String pct(double v) { return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.0f%%", 100 * v); }
}
