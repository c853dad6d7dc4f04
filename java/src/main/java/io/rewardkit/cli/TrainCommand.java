package io.rewardkit.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** `rewardkit train` (filled in by its issue). */
@Command(name = "train", mixinStandardHelpOptions = true, description = "Train (not implemented yet).")
public final class TrainCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    throw new UnsupportedOperationException("train is not implemented yet");
  }
}
