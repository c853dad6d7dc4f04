package io.rewardkit;

/**
 * An error the user can act on (bad input file, bad option value, missing model file, ...).
 * The CLI prints its message without a stack trace and exits with code 1; messages should name
 * the file, line and field involved.
 */
public class RewardKitException extends RuntimeException {
  public RewardKitException(String message) { super(message); }
  public RewardKitException(String message, Throwable cause) { super(message, cause); }
}
