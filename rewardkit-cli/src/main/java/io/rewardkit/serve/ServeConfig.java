package io.rewardkit.serve;

import io.rewardkit.RewardKitException;

/**
 * Limits and batching knobs of {@code rewardkit serve}.
 *
 * @param host              address to bind (127.0.0.1 unless told otherwise)
 * @param port              TCP port (0: any free port; the bound one is printed)
 * @param apiKey            bearer token every request except /health must carry, or null (no auth)
 * @param maxBatchTokens    token budget of one packed forward pass
 * @param maxWaitMs         longest a queued request waits for companions before its batch runs
 * @param maxQueueTokens    tokens waiting at most; past that requests get 429 with Retry-After
 * @param maxBodyBytes      largest request body (413 above)
 * @param maxTexts          most texts (queries or responses) in one request (413 above)
 * @param maxTextChars      longest single text in characters (413 above)
 * @param requestTimeoutMs  a request not answered within this gets 504 (and leaves the queue)
 * @param shutdownTimeoutMs on SIGTERM, how long in-flight requests may take to finish
 * @param maxConnections    open connections at most; past that the listener stops accepting until one closes
 */
public record ServeConfig(String host, int port, String apiKey, int maxBatchTokens, int maxWaitMs, long maxQueueTokens,
    long maxBodyBytes, int maxTexts, int maxTextChars, long requestTimeoutMs, long shutdownTimeoutMs, int maxConnections) {

  public static ServeConfig defaults() {
    return new ServeConfig("127.0.0.1", 5000, null, 16384, 5, 16L * 16384, 8L << 20, 1024, 1 << 20, 60_000, 30_000, 1024);
  }

  public ServeConfig withPort(int p) { return new ServeConfig(host, p, apiKey, maxBatchTokens, maxWaitMs, maxQueueTokens, maxBodyBytes, maxTexts, maxTextChars, requestTimeoutMs, shutdownTimeoutMs, maxConnections); }
  public ServeConfig withApiKey(String k) { return new ServeConfig(host, port, k, maxBatchTokens, maxWaitMs, maxQueueTokens, maxBodyBytes, maxTexts, maxTextChars, requestTimeoutMs, shutdownTimeoutMs, maxConnections); }
  public ServeConfig withBatching(int tokens, int waitMs) { return new ServeConfig(host, port, apiKey, tokens, waitMs, maxQueueTokens, maxBodyBytes, maxTexts, maxTextChars, requestTimeoutMs, shutdownTimeoutMs, maxConnections); }
  public ServeConfig withMaxQueueTokens(long v) { return new ServeConfig(host, port, apiKey, maxBatchTokens, maxWaitMs, v, maxBodyBytes, maxTexts, maxTextChars, requestTimeoutMs, shutdownTimeoutMs, maxConnections); }
  public ServeConfig withLimits(long bodyBytes, int texts, int textChars) { return new ServeConfig(host, port, apiKey, maxBatchTokens, maxWaitMs, maxQueueTokens, bodyBytes, texts, textChars, requestTimeoutMs, shutdownTimeoutMs, maxConnections); }
  public ServeConfig withTimeouts(long requestMs, long shutdownMs) { return new ServeConfig(host, port, apiKey, maxBatchTokens, maxWaitMs, maxQueueTokens, maxBodyBytes, maxTexts, maxTextChars, requestMs, shutdownMs, maxConnections); }

  /** Checks values against each other and the model's max_length; throws naming the option. */
  public ServeConfig validate(int maxLength) {
    if (port < 0 || port > 65535) throw new RewardKitException("--port must be in [0, 65535], got " + port);
    if (apiKey != null && apiKey.isBlank()) throw new RewardKitException("--api_key is empty");
    if (maxBatchTokens < maxLength) {
      throw new RewardKitException("--max_batch_tokens (" + maxBatchTokens + ") must be >= --max_length (" + maxLength
          + ") so that every sequence fits one batch");
    }
    if (maxWaitMs < 0) throw new RewardKitException("--max_wait_ms must be >= 0, got " + maxWaitMs);
    if (maxQueueTokens < maxBatchTokens) {
      throw new RewardKitException("--max_queue_tokens (" + maxQueueTokens + ") must be >= --max_batch_tokens (" + maxBatchTokens + ")");
    }
    if (maxBodyBytes < 64) throw new RewardKitException("--max_body_bytes must be >= 64, got " + maxBodyBytes);
    if (maxTexts < 1) throw new RewardKitException("--max_texts must be >= 1, got " + maxTexts);
    if (maxTextChars < 1) throw new RewardKitException("--max_text_chars must be >= 1, got " + maxTextChars);
    if (requestTimeoutMs < 1) throw new RewardKitException("--request_timeout_s must be > 0");
    if (shutdownTimeoutMs < 0) throw new RewardKitException("--shutdown_timeout_s must be >= 0");
    if (maxConnections < 1) throw new RewardKitException("--max_connections must be >= 1, got " + maxConnections);
    return this;
  }
}
