package io.rewardkit.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.ResponseEncoder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The HTTP side of {@code rewardkit serve}, on embedded Jetty 12 (core handlers, no servlet layer):
 * small (four jars, ~2.3 MB), maintained, Java 17, and it has what a server under load needs built
 * in: a bounded thread pool, asynchronous responses (a request waiting for its batch holds no
 * thread) and graceful shutdown (stop accepting, let in-flight requests finish).
 *
 * <p>Endpoints: POST /get_reward, POST /score, GET /health, GET /ready, GET /metrics. With an API key,
 * every endpoint but /health and /ready needs {@code Authorization: Bearer KEY} (401 otherwise).
 */
public final class RewardServer implements AutoCloseable {
  private final ServeConfig cfg;
  private final RewardService service;
  private final Batcher batcher;
  private final ServeMetrics metrics;
  private final Server server;
  private final ServerConnector connector;
  private final byte[] keyDigest;
  private volatile boolean ready;
  private volatile boolean closed;

  /**
   * Builds the server around a model's forward pass; {@link #start()} binds it.
   *
   * @param onEngineStart runs on the batching thread before its first batch (per-thread kernel settings)
   */
  public RewardServer(ServeConfig cfg, ResponseEncoder encoder, Batcher.Forward forward, Runnable onEngineStart) {
    this.cfg = cfg;
    this.metrics = new ServeMetrics();
    this.service = new RewardService(encoder, cfg, metrics);
    this.batcher = new Batcher(forward, encoder.readoutToken(), cfg.maxBatchTokens(), cfg.maxWaitMs(), cfg.maxQueueTokens(),
        metrics, onEngineStart);
    this.keyDigest = cfg.apiKey() == null ? null : sha256(cfg.apiKey());
    QueuedThreadPool pool = new QueuedThreadPool(64, 4);
    pool.setName("rewardkit-http");
    pool.setDaemon(true);
    this.server = new Server(pool);
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    this.connector = new ServerConnector(server, new HttpConnectionFactory(http));
    connector.setHost(cfg.host());
    connector.setPort(cfg.port());
    // A request may wait up to the request timeout for its batch with no bytes moving: the idle
    // timeout must not cut it off first.
    connector.setIdleTimeout(Math.max(30_000, cfg.requestTimeoutMs() + 10_000));
    server.addConnector(connector);
    server.addBean(new NetworkConnectionLimit(cfg.maxConnections(), connector));
    server.setHandler(new GracefulHandler(new Endpoints()));
    server.setStopTimeout(cfg.shutdownTimeoutMs());
    server.setStopAtShutdown(false); // the command handles SIGTERM itself, to exit 0
  }

  /** Binds and starts serving; the model is loaded already, so the server is ready at once. */
  public RewardServer start() {
    try {
      server.start();
    } catch (IOException e) {
      throw new RewardKitException("cannot listen on " + cfg.host() + ":" + cfg.port() + ": " + e.getMessage(), e);
    } catch (Exception e) {
      throw new RewardKitException("server did not start: " + e.getMessage(), e);
    }
    ready = true;
    return this;
  }

  /** The bound port (useful with port 0). */
  public int port() { return connector.getLocalPort(); }

  public ServeMetrics metrics() { return metrics; }

  /**
   * Graceful stop: /ready turns 503, the listener closes (no new connections), requests in flight
   * (queued or running) are answered, then threads stop. Waits at most the shutdown timeout for them.
   */
  @Override
  public synchronized void close() {
    if (closed) return;
    closed = true;
    ready = false;
    try {
      server.stop(); // graceful: waits up to setStopTimeout for in-flight requests
    } catch (Exception e) {
      // stop() reports requests still open after the timeout; the batcher below still drains
    } finally {
      batcher.close();
    }
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Constant-time check of the bearer token (digests, so neither content nor length leaks through timing). */
  private boolean authorized(Request request) {
    if (keyDigest == null) return true;
    String h = request.getHeaders().get(HttpHeader.AUTHORIZATION);
    String given = h != null && h.regionMatches(true, 0, "Bearer ", 0, 7) ? h.substring(7).trim() : "";
    return MessageDigest.isEqual(sha256(given), keyDigest);
  }

  private final class Endpoints extends Handler.Abstract {
    @Override
    public boolean handle(Request request, Response response, Callback callback) {
      String path = Request.getPathInContext(request);
      String method = request.getMethod();
      long t0 = System.nanoTime();
      String endpoint = switch (path) {
        case "/get_reward", "/score", "/health", "/ready", "/metrics" -> path.substring(1);
        default -> "other";
      };
      try {
        switch (path) {
          case "/health" -> {
            requireMethod(method, "GET");
            json(request, response, callback, endpoint, t0, 200, RewardService.JSON.createObjectNode().put("status", "ok"));
          }
          case "/ready" -> {
            requireMethod(method, "GET");
            boolean r = ready;
            json(request, response, callback, endpoint, t0, r ? 200 : 503,
                RewardService.JSON.createObjectNode().put("status", r ? "ready" : "not_ready"));
          }
          case "/metrics" -> {
            requireMethod(method, "GET");
            requireAuth(request);
            byte[] body = metrics.scrape();
            response.setStatus(200);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, metrics.contentType());
            count(endpoint, 200, t0);
            response.write(true, ByteBuffer.wrap(body), callback);
          }
          case "/get_reward", "/score" -> {
            requireMethod(method, "POST");
            requireAuth(request);
            JsonNode body = readJson(request);
            RewardService.Prepared p = path.equals("/score") ? service.score(body) : service.getReward(body);
            CompletableFuture<float[]> pending = batcher.submit(p.sequences());
            pending.orTimeout(cfg.requestTimeoutMs(), TimeUnit.MILLISECONDS).whenComplete((rewards, err) -> {
              if (err == null) {
                answer(request, response, callback, endpoint, t0, p.answer(), rewards);
                return;
              }
              Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
              ApiException api;
              if (cause instanceof TimeoutException) {
                batcher.cancel(pending);
                api = new ApiException(504, "timeout", null, "not answered within --request_timeout_s "
                    + cfg.requestTimeoutMs() / 1000.0 + " s (the server is overloaded); retry later", 1);
              } else {
                api = new ApiException(500, "internal", null, "scoring failed: " + describe(cause));
              }
              error(request, response, callback, endpoint, t0, api);
            });
          }
          default -> throw new ApiException(404, "not_found", null,
              "no endpoint " + path + " (POST /get_reward, POST /score, GET /health, GET /ready, GET /metrics)");
        }
      } catch (ApiException e) {
        error(request, response, callback, endpoint, t0, e);
      } catch (RuntimeException e) {
        error(request, response, callback, endpoint, t0, new ApiException(500, "internal", null, describe(e)));
      }
      return true;
    }
  }

  private static String describe(Throwable t) {
    return t.getMessage() != null ? t.getMessage() : "internal error";
  }

  private static void requireMethod(String method, String allowed) {
    if (!allowed.equals(method)) throw new ApiException(405, "method_not_allowed", null, "use " + allowed);
  }

  private void requireAuth(Request request) {
    if (!authorized(request)) {
      throw new ApiException(401, "unauthorized", null, "missing or wrong API key (send 'Authorization: Bearer KEY')");
    }
  }

  /** The body as JSON, at most --max_body_bytes. */
  private JsonNode readJson(Request request) {
    long declared = request.getLength();
    if (declared > cfg.maxBodyBytes()) {
      throw new ApiException(413, "too_large", null, "request body of " + declared + " bytes exceeds --max_body_bytes " + cfg.maxBodyBytes());
    }
    byte[] bytes;
    try (InputStream in = Request.asInputStream(request)) {
      bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, cfg.maxBodyBytes() + 1));
    } catch (IOException e) {
      throw new ApiException(400, "bad_request", null, "could not read the request body: " + describe(e));
    }
    if (bytes.length > cfg.maxBodyBytes()) {
      throw new ApiException(413, "too_large", null, "request body exceeds --max_body_bytes " + cfg.maxBodyBytes());
    }
    if (bytes.length == 0) throw new ApiException(400, "bad_request", null, "the request body is empty (expected a JSON object)");
    try {
      return RewardService.JSON.readTree(bytes);
    } catch (JsonProcessingException e) {
      var loc = e.getLocation();
      throw new ApiException(400, "bad_request", null, "the request body is not valid JSON"
          + (loc == null ? "" : " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")"));
    } catch (IOException e) {
      throw new ApiException(400, "bad_request", null, "the request body is not valid JSON");
    }
  }

  private void answer(Request request, Response response, Callback callback, String endpoint, long t0,
      Function<float[], ObjectNode> answer, float[] rewards) {
    ObjectNode o;
    try {
      o = answer.apply(rewards);
    } catch (RuntimeException e) {
      error(request, response, callback, endpoint, t0, new ApiException(500, "internal", null, describe(e)));
      return;
    }
    json(request, response, callback, endpoint, t0, 200, o);
  }

  private void error(Request request, Response response, Callback callback, String endpoint, long t0, ApiException e) {
    metrics.errors.labelValues(e.kind()).inc();
    ObjectNode o = RewardService.JSON.createObjectNode();
    ObjectNode err = o.putObject("error");
    err.put("kind", e.kind());
    if (e.field() != null) err.put("field", e.field());
    err.put("message", e.getMessage());
    if (e.retryAfterSeconds() > 0) response.getHeaders().put(HttpHeader.RETRY_AFTER, Long.toString(e.retryAfterSeconds()));
    if (e.status() == 401) response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer");
    if (e.status() == 405) response.getHeaders().put(HttpHeader.ALLOW, endpoint.equals("get_reward") || endpoint.equals("score") ? "POST" : "GET");
    json(request, response, callback, endpoint, t0, e.status(), o);
  }

  private void json(Request request, Response response, Callback callback, String endpoint, long t0, int status, ObjectNode body) {
    byte[] bytes;
    try {
      bytes = RewardService.JSON.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      bytes = "{\"error\":{\"kind\":\"internal\",\"message\":\"could not write the answer\"}}".getBytes(StandardCharsets.UTF_8);
      status = 500;
    }
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    count(endpoint, status, t0);
    response.write(true, ByteBuffer.wrap(bytes), callback);
  }

  private void count(String endpoint, int status, long t0) {
    metrics.requests.labelValues(endpoint, Integer.toString(status)).inc();
    metrics.latency.labelValues(endpoint).observe((System.nanoTime() - t0) / 1e9);
  }
}
