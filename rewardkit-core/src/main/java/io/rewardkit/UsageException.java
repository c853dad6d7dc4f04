package io.rewardkit;

/**
 * A usage error: an unknown, repeated or badly typed option, a bad --config file, a value that
 * fails validation. The CLI prints its one-line message and exits with code 2 (runtime failures: 1).
 */
public class UsageException extends RewardKitException {
  public UsageException(String message) { super(message); }
}
