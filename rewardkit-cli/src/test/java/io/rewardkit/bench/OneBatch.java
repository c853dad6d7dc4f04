package io.rewardkit.bench;

import io.rewardkit.data.DataOptions;
import io.rewardkit.data.PackedBatch;
import java.util.List;

/** Test helper: the given pairs packed by the bench's (train's) packer into one micro-batch. */
final class OneBatch {
  private OneBatch() {}

  static PackedBatch of(List<PairTokens> pairs, boolean sharedPrefix) {
    DataOptions o = DataOptions.defaults().withLayout(sharedPrefix ? DataOptions.Layout.SHARED_PREFIX : DataOptions.Layout.SEPARATE)
        .withMaxTokensPerBatch(1 << 20);
    List<PackedBatch> b = BenchEngine.pack(pairs, o, 0);
    if (b.size() != 1) throw new IllegalStateException(b.size() + " batches");
    return b.get(0);
  }
}
