package io.rewardkit.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** `rewardkit bench` (filled in by its issue). */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Bench (not implemented yet).")
public final class BenchCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    throw new UnsupportedOperationException("bench is not implemented yet");
  }
}
