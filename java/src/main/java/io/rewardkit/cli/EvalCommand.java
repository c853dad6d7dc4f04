package io.rewardkit.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** `rewardkit eval` (filled in by its issue). */
@Command(name = "eval", mixinStandardHelpOptions = true, description = "Eval (not implemented yet).")
public final class EvalCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    throw new UnsupportedOperationException("eval is not implemented yet");
  }
}
