package io.rewardkit.train;

import io.rewardkit.RewardKitException;

/** NaN/Inf in the loss or the gradients: the run stops; the last good checkpoint stays on disk. */
public final class TrainingDivergedException extends RewardKitException {
  private final long step;

  public TrainingDivergedException(long step, String message) {
    super(message);
    this.step = step;
  }

  /** The 1-based optimizer step that produced non-finite values. */
  public long step() { return step; }
}
