package io.rewardkit.train;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.TrainableModel;
import java.util.ArrayList;
import java.util.List;

/**
 * Parameters for optimizer tests laid out as a model lays them out: views of one weight arena and one gradient
 * arena, in the order given, each tensor followed by {@code pad} unused elements (alignment padding).
 */
record TestArena(Tensor weights, Tensor grads, List<TrainableModel.Param> params) {

  static TestArena of(Backend b, DType weightType, String[] names, float[][] w, float[][] g, boolean[] decay, int pad) {
    long total = 0;
    for (float[] x : w) total += x.length + pad;
    Tensor weights = b.allocate(weightType, total), grads = b.allocate(DType.F32, total);
    List<TrainableModel.Param> ps = new ArrayList<>();
    long at = 0;
    for (int i = 0; i < w.length; i++) {
      Tensor wv = weights.view(at, w[i].length), gv = grads.view(at, w[i].length);
      b.upload(wv, w[i]);
      b.upload(gv, g[i]);
      ps.add(new TrainableModel.Param(names[i], wv, gv, decay[i]));
      at += w[i].length + pad;
    }
    return new TestArena(weights, grads, List.copyOf(ps));
  }

  AdamWOptimizer optimizer(Backend b, double beta1, double beta2, double eps, double weightDecay) {
    return new AdamWOptimizer(b, weights, grads, params, beta1, beta2, eps, weightDecay);
  }
}
