package io.rewardkit.train;

import io.rewardkit.kernels.CpuBackend;

/** A training run in a separate JVM (the kill -9 test): args = output dir, resume flag. */
public final class TrainChildMain {
  public static void main(String[] args) throws Exception {
    TrainConfig cfg = TrainerTest.config(args[0]);
    if (args.length > 1) cfg.resume = args[1];
    BagModel model = new BagModel(new CpuBackend(), 16, cfg.seed);
    new Trainer(cfg, model, new ToyPairs(240, 6, cfg.seed, 1), new ToyPairs(60, 16, cfg.seed + 1, 2),
        CheckpointContent.none(), System.out).terminal(false).train();
  }
}
