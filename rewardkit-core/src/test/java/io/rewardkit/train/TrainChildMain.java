package io.rewardkit.train;

import io.rewardkit.kernels.CpuBackend;

/** A training run in a separate JVM (the kill -9 tests): args = output dir, resume ("-" for none), report (true/false). */
public final class TrainChildMain {
  public static void main(String[] args) throws Exception {
    TrainConfig cfg = TrainerTest.config(args[0]);
    if (args.length > 1 && !args[1].equals("-")) cfg.resume = args[1];
    if (args.length > 2) cfg.report = Boolean.parseBoolean(args[2]);
    BagModel model = new BagModel(new CpuBackend(), 16, cfg.seed);
    new Trainer(cfg, model, new ToyPairs(240, 6, cfg.seed, 1), new ToyPairs(60, 16, cfg.seed + 1, 2),
        CheckpointContent.none(), System.out).terminal(false).train();
  }
}
