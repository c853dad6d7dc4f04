package io.rewardkit.kernels;

/**
 * The requested backend cannot be used on this machine (no GPU, no driver, missing CUDA libraries).
 * The message says what is missing and where it looked; the CLI prints it without a stack trace.
 */
public class BackendUnavailableException extends IllegalStateException {
  public BackendUnavailableException(String message) { super(message); }
  public BackendUnavailableException(String message, Throwable cause) { super(message, cause); }
}
