package io.rewardkit.eval;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backend.RewardLossSpec;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.TrainableModel;
import java.util.Arrays;
import java.util.List;

/** Runs a reward model over packed preference batches (forward only) and collects per-pair rewards. */
public final class Evaluator {
  private Evaluator() {}

  public static EvalResult evaluate(TrainableModel model, List<PackedBatch> batches, RewardLossSpec spec,
      List<String> datasetNames) {
    Backend b = model.backend();
    int total = 0;
    for (PackedBatch batch : batches) total += batch.numPairs();
    float[] chosen = new float[total], rejected = new float[total];
    int[] cLen = new int[total], rLen = new int[total], ds = new int[total];
    long[] ids = new long[total];
    double lossSum = 0;
    int k = 0;
    for (PackedBatch batch : batches) {
      int p = batch.numPairs();
      if (p == 0) continue;
      float[] rw = model.score(batch);
      try (Tensor rewards = b.allocate(DType.F32, rw.length); Tensor c = b.allocate(DType.I32, p);
           Tensor r = b.allocate(DType.I32, p); Tensor m = b.allocate(DType.F32, p)) {
        b.upload(rewards, rw);
        b.upload(c, batch.chosen());
        b.upload(r, batch.rejected());
        b.upload(m, batch.margins());
        double[] stats = b.rewardLoss(rewards, c, r, m, null, spec, 1.0);
        lossSum += stats[RewardLossSpec.LOSS] * p;
      }
      for (int i = 0; i < p; i++, k++) {
        chosen[k] = rw[batch.chosen()[i]];
        rejected[k] = rw[batch.rejected()[i]];
        cLen[k] = batch.scoredLength(batch.readout()[batch.chosen()[i]]);
        rLen[k] = batch.scoredLength(batch.readout()[batch.rejected()[i]]);
        ds[k] = batch.datasetIds() == null ? 0 : batch.datasetIds()[i];
        ids[k] = batch.pairIds() == null ? k : batch.pairIds()[i];
      }
    }
    return new EvalResult(total == 0 ? Double.NaN : lossSum / total, Arrays.copyOf(chosen, k), Arrays.copyOf(rejected, k),
        Arrays.copyOf(cLen, k), Arrays.copyOf(rLen, k), Arrays.copyOf(ds, k), Arrays.copyOf(ids, k), List.copyOf(datasetNames));
  }
}
