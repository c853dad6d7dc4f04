package io.rewardkit.cli;

import io.rewardkit.RewardKitException;
import io.rewardkit.data.DataOptions;
import io.rewardkit.data.ResponseEncoder;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backends;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.cpu.CpuThreads;
import io.rewardkit.serve.RewardServer;
import io.rewardkit.serve.ServeConfig;
import io.rewardkit.train.RunSetup;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code rewardkit serve}: loads a checkpoint once and answers reward requests over HTTP
 * (OpenRLHF's /get_reward, RewardKit's /score), batching concurrent requests. SIGTERM or SIGINT
 * stops it gracefully (no new connections, in-flight requests answered) with exit code 0.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Serve a reward model over HTTP: POST /get_reward (OpenRLHF remote RM, v1 and v2), POST /score "
        + "(prompt + responses), GET /health, /ready, /metrics (Prometheus). Concurrent requests are packed into "
        + "varlen batches like training's. SIGTERM: finish in-flight requests, exit 0."})
public final class ServeCommand implements Callable<Integer> {
  /** Environment variable read by {@code --api_key env}. */
  public static final String API_KEY_ENV = "REWARDKIT_API_KEY";

  @Option(names = "--model", required = true, paramLabel = "DIR", description = "Checkpoint or model directory, or a training output directory.")
  Path model;
  @Option(names = "--host", paramLabel = "ADDR", description = "Address to bind (default 127.0.0.1: this machine only; 0.0.0.0 for all interfaces).")
  String host = "127.0.0.1";
  @Option(names = "--port", paramLabel = "N", description = "TCP port (default 5000; 0 picks a free one, printed at start).")
  int port = 5000;
  @Option(names = "--device", paramLabel = "cpu|cuda|auto", description = "Compute backend (default cpu).")
  String device = "cpu";
  @Option(names = "--api_key", paramLabel = "KEY|env", description = "Require 'Authorization: Bearer KEY' (all endpoints but /health, /ready). "
      + "'env' reads the key from $" + API_KEY_ENV + " (keeps it out of the process list). Default: no auth.")
  String apiKey;
  @Option(names = "--max_length", paramLabel = "N", description = "Longest sequence in tokens (default: the checkpoint's).")
  Integer maxLength;
  @Option(names = "--truncation", paramLabel = "drop|prompt_left|response_right", description = "Too-long texts (default: the checkpoint's). "
      + "drop: /get_reward answers 422 naming the query, /score gives reward null with the reason; the others cut and list the index under 'truncated'.")
  String truncation;
  @Option(names = "--max_batch_tokens", paramLabel = "N", description = "Token budget of one forward pass (default: the checkpoint's max_tokens_per_batch).")
  Integer maxBatchTokens;
  @Option(names = "--max_wait_ms", paramLabel = "MS", description = "Longest a request waits for batch companions (default 5).")
  int maxWaitMs = 5;
  @Option(names = "--max_queue_tokens", paramLabel = "N", description = "Tokens that may wait; more gets 429 + Retry-After (default 16 x --max_batch_tokens).")
  Long maxQueueTokens;
  @Option(names = "--max_body_bytes", paramLabel = "N", description = "Largest request body (default 8388608; 413 above).")
  long maxBodyBytes = 8L << 20;
  @Option(names = "--max_texts", paramLabel = "N", description = "Most queries or responses in one request (default 1024; 413 above).")
  int maxTexts = 1024;
  @Option(names = "--max_text_chars", paramLabel = "N", description = "Longest single text in characters (default 1048576; 413 above).")
  int maxTextChars = 1 << 20;
  @Option(names = "--max_connections", paramLabel = "N", description = "Open connections at most; more wait to be accepted (default 1024).")
  int maxConnections = 1024;
  @Option(names = "--request_timeout_s", paramLabel = "S", description = "A request not answered in time gets 504 (default 60).")
  double requestTimeoutS = 60;
  @Option(names = "--shutdown_timeout_s", paramLabel = "S", description = "On SIGTERM, how long in-flight requests may take (default 30).")
  double shutdownTimeoutS = 30;
  @Option(names = "--threads", paramLabel = "N", description = "CPU kernel threads (default 0: auto, 1 for models under "
      + "5M non-embedding parameters, whose kernels are shorter than a thread barrier; else all cores).")
  int threads;

  @Spec CommandSpec spec;

  /** A bad option value: exit code 2, like picocli's own parse errors. */
  private ParameterException usage(String message) {
    return new ParameterException(spec.commandLine(), message);
  }

  /**
   * 1 thread for small models (the default model, the tiny Qwen2 example): their per-layer kernels
   * are shorter than an OpenMP barrier, and on a busy machine two spinning threads made a forward
   * pass 40x slower (73 ms vs 1.6 ms, measured with 8 clients). 0 (all cores) otherwise.
   */
  private static int autoThreads(io.rewardkit.model.RewardModel m) {
    long embed = (long) m.config().vocabSize() * m.config().hiddenSize();
    return m.numParameters() - embed < 5_000_000L ? 1 : 0;
  }

  private DataOptions.Truncation parseTruncation(String s) {
    try {
      return DataOptions.Truncation.parse(s);
    } catch (RewardKitException e) {
      throw usage("--truncation: " + e.getMessage());
    }
  }

  @Override
  public Integer call() throws Exception {
    String key = apiKey;
    if ("env".equals(key)) {
      key = System.getenv(API_KEY_ENV);
      if (key == null || key.isBlank()) throw usage("--api_key env: $" + API_KEY_ENV + " is not set");
    }
    if (threads < 0) throw usage("--threads must be >= 0, got " + threads);
    if (truncation != null) parseTruncation(truncation);
    try (Backend backend = Backends.select(device)) {
      RunSetup.Loaded m = RunSetup.open(model, backend);
      try (var mm = m.model(); var tok = m.tokenizer()) {
        if (m.notice() != null) spec.commandLine().getErr().println(m.notice()); // an HF model without rewardkit.json: how it is read
        DataOptions o = m.options();
        if (maxLength != null) o = o.withMaxLength(maxLength);
        if (truncation != null) o = o.withTruncation(parseTruncation(truncation));
        try {
          mm.config().checkMaxLength(o.maxLength(), "--max_length"); // as score checks it (positions, sliding window)
        } catch (RewardKitException e) {
          throw usage(e.getMessage());
        }
        int budget = maxBatchTokens != null ? maxBatchTokens : Math.max(o.maxTokensPerBatch(), o.maxLength());
        ServeConfig cfg;
        try {
          cfg = new ServeConfig(host, port, key, budget, maxWaitMs,
              maxQueueTokens != null ? maxQueueTokens : 16L * budget, maxBodyBytes, maxTexts, maxTextChars,
              Math.round(requestTimeoutS * 1000), Math.round(shutdownTimeoutS * 1000), maxConnections).validate(o.maxLength());
        } catch (RewardKitException e) {
          throw usage(e.getMessage());
        }
        ResponseEncoder encoder = new ResponseEncoder(o, tok);
        int kernelThreads = threads > 0 ? threads : autoThreads(mm);
        Runnable engineSetup = kernelThreads > 0 && backend instanceof CpuBackend ? () -> CpuThreads.set(kernelThreads) : null;
        CountDownLatch stop = new CountDownLatch(1);
        try (RewardServer server = new RewardServer(cfg, encoder, mm::score, engineSetup)) {
          Signals.onTermination(stop::countDown);
          server.start();
          PrintWriter out = spec.commandLine().getOut();
          out.printf("rewardkit serve: %s (%s, %s threads, max_length %d, truncation %s, batch %d tokens, wait %d ms)%n", m.dir(),
              backend.device(), kernelThreads > 0 ? Integer.toString(kernelThreads) : "all", o.maxLength(),
              o.truncation().name().toLowerCase(java.util.Locale.ROOT), budget, maxWaitMs);
          out.printf("listening on http://%s:%d (POST /get_reward, /score; GET /health, /ready, /metrics)%s%n", host, server.port(),
              key == null ? "" : "; API key required");
          out.flush();
          stop.await();
          out.println("rewardkit serve: stopping (answering requests in flight) ...");
          out.flush();
        }
        spec.commandLine().getOut().println("rewardkit serve: stopped");
        spec.commandLine().getOut().flush();
      }
    }
    return 0;
  }
}
