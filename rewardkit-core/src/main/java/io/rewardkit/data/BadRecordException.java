package io.rewardkit.data;

import io.rewardkit.RewardKitException;

/**
 * A record (or input file) that cannot be used. {@code reason} is a short stable key used for the
 * per-reason counts of --on_bad_record skip; the message names file, line (and column) and field.
 */
public final class BadRecordException extends RewardKitException {
  private final String reason;
  private final String location;

  public BadRecordException(String reason, String location, String detail) {
    super(location + ": " + reason + ": " + detail);
    this.reason = reason;
    this.location = location;
  }

  public String reason() { return reason; }
  public String location() { return location; }
}
