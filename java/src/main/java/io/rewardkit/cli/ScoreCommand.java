package io.rewardkit.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** `rewardkit score` (filled in by its issue). */
@Command(name = "score", mixinStandardHelpOptions = true, description = "Score (not implemented yet).")
public final class ScoreCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    throw new UnsupportedOperationException("score is not implemented yet");
  }
}
