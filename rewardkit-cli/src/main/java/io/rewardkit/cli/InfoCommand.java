package io.rewardkit.cli;

import io.rewardkit.kernels.Backends;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code rewardkit info}: backends found on this machine and supported model families. */
@Command(name = "info", mixinStandardHelpOptions = true,
    description = "Show the compute backends found on this machine and the supported model families.")
public final class InfoCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    System.out.println("rewardkit " + RewardKitCli.version());
    System.out.println("java      " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")");
    System.out.println();
    for (String line : Backends.describe()) System.out.println(line);
    System.out.println();
    System.out.println("model families: llama, qwen2, qwen3, mistral (HF config.json model_type)");
    return 0;
  }
}
