package io.rewardkit.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** `rewardkit prepare` (filled in by its issue). */
@Command(name = "prepare", mixinStandardHelpOptions = true, description = "Prepare (not implemented yet).")
public final class PrepareCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    throw new UnsupportedOperationException("prepare is not implemented yet");
  }
}
