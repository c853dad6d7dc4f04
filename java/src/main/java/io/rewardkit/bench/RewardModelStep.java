package io.rewardkit.bench;

import io.rewardkit.RewardKitException;
import io.rewardkit.kernels.Backend;

/** The benchmark's training step on RewardKit's own model, loss and optimizer. */
public final class RewardModelStep {
  private RewardModelStep() {}

  public static TrainStep create(ModelShape shape, Backend backend, long seed) {
    throw new RewardKitException("bench: the reward model and trainer are not in this build yet");
  }
}
