package io.rewardkit.cli;

import io.rewardkit.RewardKitException;
import io.rewardkit.UsageException;
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
import io.rewardkit.config.Cmd;
import io.rewardkit.config.OptionValues;
import picocli.CommandLine.Spec;

/**
 * {@code rewardkit serve}: loads a checkpoint once and answers reward requests over HTTP
 * (OpenRLHF's /get_reward, RewardKit's /score), batching concurrent requests. SIGTERM or SIGINT
 * stops it gracefully (no new connections, in-flight requests answered) with exit code 0.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Serve a reward model over HTTP.",
        "POST /get_reward (OpenRLHF remote RM, v1 and v2), POST /score (prompt +",
        "responses), GET /health, /ready, /metrics (Prometheus). Concurrent requests are",
        "packed into varlen batches like training's. SIGTERM: finish in-flight requests,",
        "exit 0. Data options default to the checkpoint's."})
public final class ServeCommand implements Callable<Integer> {
  /** Environment variable read by {@code --api_key env}. */
  public static final String API_KEY_ENV = "REWARDKIT_API_KEY";

  @Spec CommandSpec spec;

  /** A bad option value found once the model is known: exit code 2, like the registry's checks. */
  private static UsageException usage(String message) {
    return new UsageException(message);
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

  @Override
  public Integer call() throws Exception {
    OptionValues v = CliOptions.values(Cmd.SERVE, spec, spec.commandLine().getErr());
    Path model = Path.of(v.getString("model"));
    String host = v.getString("host");
    int port = v.getInt("port");
    String device = v.getString("device");
    int maxWaitMs = v.getInt("max_wait_ms");
    int threads = v.getInt("threads");
    String key = v.getString("api_key");
    if ("env".equals(key)) {
      key = System.getenv(API_KEY_ENV);
      if (key == null || key.isBlank()) throw usage("--api_key env: $" + API_KEY_ENV + " is not set");
    }
    try (Backend backend = Backends.select(device, v.getBool("bf16"))) {
      RunSetup.Loaded m = RunSetup.open(model, backend);
      try (var mm = m.model(); var tok = m.tokenizer()) {
        if (m.notice() != null) spec.commandLine().getErr().println(m.notice()); // an HF model without rewardkit.json: how it is read
        DataOptions o = m.options();
        // the checkpoint's encoding, with --max_length / --truncation on top when given
        if (v.given("max_length")) o = o.withMaxLength(v.getInt("max_length"));
        if (v.given("truncation")) o = o.withTruncation(DataOptions.Truncation.parse(v.getString("truncation")));
        try {
          mm.config().checkMaxLength(o.maxLength(), "--max_length"); // as score checks it (positions, sliding window)
        } catch (RewardKitException e) {
          throw usage(e.getMessage());
        }
        int budget = v.get("max_batch_tokens") != null ? v.getInt("max_batch_tokens") : Math.max(o.maxTokensPerBatch(), o.maxLength());
        ServeConfig cfg;
        try {
          cfg = new ServeConfig(host, port, key, budget, maxWaitMs,
              v.get("max_queue_tokens") != null ? v.getLong("max_queue_tokens") : 16L * budget, v.getLong("max_body_bytes"),
              v.getInt("max_texts"), v.getInt("max_text_chars"), Math.round(v.getDouble("request_timeout_s") * 1000),
              Math.round(v.getDouble("shutdown_timeout_s") * 1000), v.getInt("max_connections")).validate(o.maxLength());
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
