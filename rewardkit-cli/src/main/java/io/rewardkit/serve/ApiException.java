package io.rewardkit.serve;

/**
 * A request the server refuses: HTTP status, the request field it concerns (JSON path such as
 * {@code query[3]}, or null) and a one-line message for the client. Never carries a stack trace.
 */
public final class ApiException extends RuntimeException {
  private final int status;
  private final String field;
  private final String kind;
  private final long retryAfterSeconds;

  public ApiException(int status, String kind, String field, String message) {
    this(status, kind, field, message, 0);
  }

  public ApiException(int status, String kind, String field, String message, long retryAfterSeconds) {
    super(message, null, false, false);
    this.status = status;
    this.kind = kind;
    this.field = field;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  public int status() { return status; }
  /** Stable error key for clients and the errors metric (bad_request, too_large, queue_full, ...). */
  public String kind() { return kind; }
  public String field() { return field; }
  public long retryAfterSeconds() { return retryAfterSeconds; }
}
