package io.rewardkit.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.train.SyntheticTask;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Load client for {@code rewardkit serve} (driven by benchmarks/serve-load.sh): C concurrent clients
 * send a fixed number of POST /get_reward requests (one OpenRLHF v1 query each, texts taken in turn
 * from a file), each client waiting for its answer before the next. Prints one markdown table row per
 * concurrency: requests/s, tokens/s (the server's own token counter, from /metrics), latency
 * p50/p95/p99, errors by status.
 *
 * <p>Usage: {@code ServeLoad URL TEXTS REQUESTS C1,C2,...}; TEXTS is {@code synthetic} (prompt + response
 * of the default model's synthetic task) or a JSONL file whose lines are JSON strings or objects with
 * "query", or "chosen" (hh-rlhf full text), or "prompt" + "response".
 */
public final class ServeLoad {
  private ServeLoad() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 3 && args[0].equals("--score-input")) {
      // `rewardkit score` input lines for the first N texts (the per-request comparison)
      ObjectMapper json = new ObjectMapper();
      List<String> t = texts(args[1], json);
      for (int i = 0; i < Integer.parseInt(args[2]); i++) {
        System.out.println(json.writeValueAsString(Map.of("prompt", "", "response", t.get(i % t.size()))));
      }
      return;
    }
    if (args.length != 4) {
      System.err.println("usage: ServeLoad URL TEXTS REQUESTS C1,C2,...  |  ServeLoad --score-input TEXTS N");
      System.exit(2);
    }
    String base = args[0];
    ObjectMapper json = new ObjectMapper();
    List<String> texts = texts(args[1], json);
    int requests = Integer.parseInt(args[2]);
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .executor(Executors.newFixedThreadPool(8)).connectTimeout(Duration.ofSeconds(10)).build();
    System.out.println("| clients | requests | wall s | requests/s | tokens/s | p50 ms | p95 ms | p99 ms | errors |");
    System.out.println("|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for (String c : args[3].split(",")) {
      int clients = Integer.parseInt(c.trim());
      double tokens0 = counter(http, base, "rewardkit_scored_tokens_total");
      long[] lat = new long[requests];
      AtomicInteger next = new AtomicInteger();
      Map<Integer, Integer> errors = new TreeMap<>();
      ExecutorService pool = Executors.newFixedThreadPool(clients);
      long t0 = System.nanoTime();
      for (int k = 0; k < clients; k++) {
        pool.submit(() -> {
          for (int i = next.getAndIncrement(); i < requests; i = next.getAndIncrement()) {
            String q = texts.get(i % texts.size());
            long s = System.nanoTime();
            int status;
            try {
              HttpRequest req = HttpRequest.newBuilder(URI.create(base + "/get_reward")).timeout(Duration.ofSeconds(120))
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(json.writeValueAsString(Map.of("query", List.of(q))))).build();
              status = http.send(req, HttpResponse.BodyHandlers.ofString()).statusCode();
            } catch (Exception e) {
              status = -1;
            }
            lat[i] = System.nanoTime() - s;
            if (status != 200) {
              synchronized (errors) { errors.merge(status, 1, Integer::sum); }
            }
          }
          return null;
        });
      }
      pool.shutdown();
      pool.awaitTermination(1, java.util.concurrent.TimeUnit.HOURS);
      double wall = (System.nanoTime() - t0) / 1e9;
      double tokens = counter(http, base, "rewardkit_scored_tokens_total") - tokens0;
      Arrays.sort(lat);
      System.out.printf("| %d | %d | %.2f | %.1f | %.0f | %.1f | %.1f | %.1f | %s |%n", clients, requests, wall, requests / wall,
          tokens / wall, pct(lat, 50), pct(lat, 95), pct(lat, 99), errors.isEmpty() ? "0" : errors.toString());
    }
    System.exit(0);
  }

  static List<String> texts(String spec, ObjectMapper json) throws java.io.IOException {
    List<String> out = new ArrayList<>();
    if (spec.equals("synthetic")) {
      for (SyntheticTask.Example e : SyntheticTask.generate(1000, 1)) out.add(e.prompt() + e.chosen());
      return out;
    }
    for (String l : Files.readAllLines(Path.of(spec))) {
      if (l.isBlank()) continue;
      var n = json.readTree(l);
      if (n.isTextual()) out.add(n.asText());
      else if (n.hasNonNull("query")) out.add(n.get("query").asText());
      else if (n.path("chosen").isTextual()) out.add(n.get("chosen").asText());
      else if (n.hasNonNull("prompt")) out.add(n.get("prompt").asText() + n.path("response").asText());
    }
    if (out.isEmpty()) throw new IllegalArgumentException(spec + ": no texts");
    return out;
  }

  private static double pct(long[] sorted, double p) {
    int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))] / 1e6;
  }

  /** A counter's value from the server's Prometheus text. */
  private static double counter(HttpClient http, String base, String name) throws Exception {
    String body = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).GET().build(),
        HttpResponse.BodyHandlers.ofString()).body();
    for (String line : body.split("\n")) {
      if (line.startsWith(name + " ")) return Double.parseDouble(line.substring(name.length() + 1).trim());
    }
    throw new IllegalStateException(name + " not in /metrics");
  }
}
