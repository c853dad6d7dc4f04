package io.rewardkit.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.cli.RewardKitCli;
import io.rewardkit.data.DataOptions;
import io.rewardkit.data.ResponseEncoder;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backends;
import io.rewardkit.train.RunSetup;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** A short default-model run shared by the serve tests, an in-process server on it, and an HTTP client. */
final class ServeTestSupport {
  private ServeTestSupport() {}

  static final ObjectMapper JSON = new ObjectMapper();
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10)).build();
  private static Path model;

  /** A short embedded-default training run (byte tokenizer, max_length 48), trained once per JVM. */
  static synchronized Path model() throws IOException {
    if (model != null) return model;
    Path dir = Files.createTempDirectory("rk-serve-model");
    Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));
    int rc = RewardKitCli.run("train", "--output_dir", dir.resolve("run").toString(), "--synthetic_train_pairs", "640",
        "--synthetic_eval_pairs", "20", "--save_steps", "0", "--eval_steps", "0", "--report", "false");
    assertEquals(0, rc, "training the test model");
    model = dir.resolve("run");
    return model;
  }

  private static void deleteTree(Path dir) {
    try (var walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // best effort: a temp directory left behind
    }
  }

  /** An in-process server over the test model; close it (and the returned resources) after use. */
  static final class Running implements AutoCloseable {
    final Backend backend;
    final RunSetup.Loaded loaded;
    final RewardServer server;
    final String base;
    final ServeConfig cfg;

    Running(ServeConfig cfg, DataOptions.Truncation truncation) throws IOException {
      this(model(), cfg, truncation);
    }

    /** A server over any model directory (e.g. an HF reward model without rewardkit.json). */
    Running(Path model, ServeConfig cfg, DataOptions.Truncation truncation) {
      this.cfg = cfg;
      backend = Backends.select("cpu");
      loaded = RunSetup.open(model, backend);
      DataOptions o = loaded.options();
      if (truncation != null) o = o.withTruncation(truncation);
      server = new RewardServer(cfg.validate(o.maxLength()), new ResponseEncoder(o, loaded.tokenizer()),
          loaded.model()::score, null).start();
      base = "http://127.0.0.1:" + server.port();
    }

    @Override
    public void close() {
      server.close();
      loaded.model().close();
      loaded.tokenizer().close();
      backend.close();
    }
  }

  static ServeConfig config() { return ServeConfig.defaults().withPort(0).withBatching(4096, 5); }

  static HttpResponse<String> post(String url, String body, String... headers) throws Exception {
    return postAsync(url, body, headers).get();
  }

  static CompletableFuture<HttpResponse<String>> postAsync(String url, String body, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    for (int i = 0; i + 1 < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
    return HTTP.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> get(String url, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).GET();
    for (int i = 0; i + 1 < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static String json(Object o) throws IOException { return JSON.writeValueAsString(o); }

  static JsonNode tree(HttpResponse<String> r) throws IOException { return JSON.readTree(r.body()); }

  static double[] doubles(JsonNode a) {
    double[] d = new double[a.size()];
    for (int i = 0; i < d.length; i++) d[i] = a.get(i).isNull() ? Double.NaN : a.get(i).asDouble();
    return d;
  }

  /** `rewardkit score` on the given input lines (objects); returns its output lines. */
  static List<JsonNode> scoreCli(Path tmp, List<Map<String, Object>> lines) throws IOException {
    return scoreCli(model(), tmp, lines);
  }

  /** `rewardkit score --model model` on the given input lines (objects); returns its output lines. */
  static List<JsonNode> scoreCli(Path model, Path tmp, List<Map<String, Object>> lines) throws IOException {
    Path in = tmp.resolve("in-" + System.nanoTime() + ".jsonl"), out = tmp.resolve("out-" + System.nanoTime() + ".jsonl");
    List<String> text = new ArrayList<>();
    for (Map<String, Object> l : lines) text.add(JSON.writeValueAsString(l));
    Files.write(in, text, StandardCharsets.UTF_8);
    assertEquals(0, RewardKitCli.run("score", "--model", model.toString(), "--input", in.toString(), "--output", out.toString()));
    List<JsonNode> res = new ArrayList<>();
    for (String l : Files.readAllLines(out)) res.add(JSON.readTree(l));
    return res;
  }
}
