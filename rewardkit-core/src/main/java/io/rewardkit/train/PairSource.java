package io.rewardkit.train;

import io.rewardkit.data.PackedBatch;
import java.util.List;

/** A tokenised preference dataset, already packed into micro-batches. */
public interface PairSource {

  /** Dataset names, indexed by {@link PackedBatch#datasetIds()}. */
  List<String> datasetNames();

  int numPairs();

  /** The micro-batches of one training epoch (shuffled deterministically from the seed and epoch). */
  List<PackedBatch> trainBatches(int epoch);

  /** The micro-batches in a fixed order, for evaluation. */
  List<PackedBatch> evalBatches();

  /**
   * A hash of exactly what this source trains on (content, split, layout), recorded in every
   * checkpoint so that --resume refuses changed data; null when the source cannot tell.
   */
  default String fingerprint() { return null; }
}
