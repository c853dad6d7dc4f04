package io.rewardkit.bench;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import java.util.List;

/** One optimizer step as the benchmark drives it: forward, loss and backward per micro-batch, then the update. */
public interface TrainStep extends AutoCloseable {

  /** Runs one optimizer step over these micro-batches (gradient accumulation); returns the mean loss. */
  double run(List<PackedBatch> microBatches);

  @Override
  default void close() {}

  /** Builds a randomly initialised model of {@code shape} on {@code backend} with its optimizer. */
  @FunctionalInterface
  interface Factory {
    TrainStep create(ModelShape shape, Backend backend, long seed);
  }
}
