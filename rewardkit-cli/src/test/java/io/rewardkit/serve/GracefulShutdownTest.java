package io.rewardkit.serve;

import static io.rewardkit.serve.ServeTestSupport.config;
import static io.rewardkit.serve.ServeTestSupport.json;
import static io.rewardkit.serve.ServeTestSupport.post;
import static io.rewardkit.serve.ServeTestSupport.postAsync;
import static io.rewardkit.serve.ServeTestSupport.tree;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.cli.RewardKitCli;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stopping with requests in flight: every accepted request is answered, new ones are not accepted. */
class GracefulShutdownTest {
  @TempDir Path tmp;

  @Test void closeAnswersEveryRequestInFlight() throws Exception {
    // max_wait 1.5 s: the requests are still queued when close() starts
    ServeTestSupport.Running s = new ServeTestSupport.Running(config().withBatching(4096, 1500), null);
    List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
    try {
      for (int i = 0; i < 8; i++) inFlight.add(postAsync(s.base + "/get_reward", json(Map.of("query", List.of("ab|" + i, "ba|" + i)))));
      long until = System.nanoTime() + 10_000_000_000L;
      while (s.server.metrics().queueRequests.get() < 8 && System.nanoTime() < until) Thread.sleep(10);
      assertEquals(8, s.server.metrics().queueRequests.get(), 0.0, "all 8 requests queued before the stop");
    } finally {
      s.close();
    }
    for (CompletableFuture<HttpResponse<String>> f : inFlight) {
      HttpResponse<String> r = f.get(30, TimeUnit.SECONDS);
      assertEquals(200, r.statusCode(), r.body());
      assertEquals(2, tree(r).get("rewards").size());
    }
    // the listener is closed: a new request cannot connect
    assertThrows(Exception.class, () -> post(s.base + "/get_reward", json(Map.of("query", List.of("x")))));
  }

  @Test void sigtermFinishesInFlightRequestsAndExitsZero() throws Exception {
    Path model = ServeTestSupport.model();
    Path log = tmp.resolve("serve.log");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xss16m"));
    String cache = System.getProperty("org.bytedeco.javacpp.cachedir");
    if (cache != null) cmd.add("-Dorg.bytedeco.javacpp.cachedir=" + cache);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), RewardKitCli.class.getName(), "serve", "--model",
        model.toString(), "--port", "0", "--max_wait_ms", "1500", "--max_batch_tokens", "4096", "--threads", "1"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      String base = null;
      Pattern listening = Pattern.compile("listening on (http://127\\.0\\.0\\.1:\\d+)");
      long until = System.nanoTime() + 120_000_000_000L;
      while (base == null && p.isAlive() && System.nanoTime() < until) {
        Matcher m = listening.matcher(Files.exists(log) ? Files.readString(log) : "");
        if (m.find()) base = m.group(1);
        else Thread.sleep(50);
      }
      assertTrue(base != null, "server did not start:\n" + Files.readString(log));
      List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
      for (int i = 0; i < 6; i++) inFlight.add(postAsync(base + "/get_reward", json(Map.of("query", List.of("ab|" + i)))));
      Thread.sleep(400); // inside the 1.5 s batching wait: the requests are queued
      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "server did not stop");
      assertEquals(0, p.exitValue(), Files.readString(log));
      for (CompletableFuture<HttpResponse<String>> f : inFlight) {
        HttpResponse<String> r = f.get(10, TimeUnit.SECONDS);
        assertEquals(200, r.statusCode(), r.body());
      }
      assertTrue(Files.readString(log).contains("stopped"), Files.readString(log));
    } finally {
      p.destroyForcibly();
    }
  }
}
