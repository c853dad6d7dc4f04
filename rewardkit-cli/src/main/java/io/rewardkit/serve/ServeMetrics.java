package io.rewardkit.serve;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** The server's Prometheus metrics (one registry per server, so tests can run several). */
public final class ServeMetrics {
  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();

  final Counter requests = Counter.builder().name("rewardkit_requests_total")
      .help("HTTP requests by endpoint and status code").labelNames("endpoint", "code").register(registry);
  final Counter errors = Counter.builder().name("rewardkit_errors_total")
      .help("Refused or failed requests by kind (unauthorized, too_large, bad_request, too_long, queue_full, timeout, shutting_down, internal, ...)")
      .labelNames("kind").register(registry);
  final Gauge queueTokens = Gauge.builder().name("rewardkit_queue_tokens").help("Tokens waiting for a batch").register(registry);
  final Gauge queueRequests = Gauge.builder().name("rewardkit_queue_requests").help("Requests waiting for a batch").register(registry);
  final Histogram batchSequences = Histogram.builder().name("rewardkit_batch_sequences")
      .help("Sequences per forward pass").classicOnly().classicExponentialUpperBounds(1, 2, 12).register(registry);
  final Histogram batchTokens = Histogram.builder().name("rewardkit_batch_tokens")
      .help("Packed tokens per forward pass").classicOnly().classicExponentialUpperBounds(16, 2, 14).register(registry);
  final Histogram batchRequests = Histogram.builder().name("rewardkit_batch_requests")
      .help("Requests served by one batching round").classicOnly().classicExponentialUpperBounds(1, 2, 10).register(registry);
  final Counter tokens = Counter.builder().name("rewardkit_scored_tokens_total")
      .help("Tokens run through the model (rate() gives tokens/s)").register(registry);
  final Counter sequences = Counter.builder().name("rewardkit_scored_sequences_total")
      .help("Sequences scored").register(registry);
  final Gauge tokensPerSecond = Gauge.builder().name("rewardkit_forward_tokens_per_second")
      .help("Throughput of the last forward pass").register(registry);
  final Histogram forwardSeconds = Histogram.builder().name("rewardkit_forward_seconds")
      .help("Duration of one forward pass").classicOnly()
      .classicUpperBounds(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30).register(registry);
  final Histogram latency = Histogram.builder().name("rewardkit_request_duration_seconds")
      .help("Request latency by endpoint (parse to response)").labelNames("endpoint").classicOnly()
      .classicUpperBounds(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60).register(registry);
  final Counter truncated = Counter.builder().name("rewardkit_truncated_total")
      .help("Texts cut to --max_length by the --truncation policy").register(registry);
  final Counter dropped = Counter.builder().name("rewardkit_dropped_total")
      .help("Texts not scored (reason: too_long, empty_response, ...)").labelNames("reason").register(registry);

  /** The Prometheus text exposition (version 0.0.4). */
  public byte[] scrape() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      writer.write(out, registry.scrape());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  public String contentType() { return writer.getContentType(); }
}
