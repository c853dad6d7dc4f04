package io.rewardkit.train;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.TrainableModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW over a model's parameters with fp32 moments, one native update per parameter tensor
 * (weight decay only where {@link TrainableModel.Param#decay()} is set: not on norms and biases).
 * Global-norm clipping is folded into the update as a gradient scale.
 *
 * <p>The backend decides the state layout: {@link Backend#masterWeights} returns the F32 weight itself
 * where the model computes in F32 (CPU), or an fp32 master copy beside a BF16 working weight (CUDA);
 * the optimizer updates and checkpoints the masters and the backend refreshes the working copies.
 */
public final class AdamWOptimizer {
  private final Backend backend;
  private final List<TrainableModel.Param> params;
  private final List<Tensor> master = new ArrayList<>(), m = new ArrayList<>(), v = new ArrayList<>();
  private final double beta1, beta2, eps, weightDecay;
  private long step;  // optimizer steps taken

  public AdamWOptimizer(Backend backend, List<TrainableModel.Param> params, double beta1, double beta2, double eps,
      double weightDecay) {
    this.backend = backend;
    this.params = List.copyOf(params);
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    for (TrainableModel.Param p : params) {
      master.add(backend.masterWeights(p.weight()));  // F32 [same as weight]; the weight itself when F32
      m.add(backend.allocate(DType.F32, p.weight().shape()));  // m [same as weight]
      v.add(backend.allocate(DType.F32, p.weight().shape()));  // v [same as weight]
    }
  }

  public long step() { return step; }

  /** Global L2 norm of all gradients (before clipping); NaN/Inf if any gradient is non-finite. */
  public double gradNorm() {
    double s = 0;
    for (TrainableModel.Param p : params) s += backend.gradSumSquares(p.grad());
    return Math.sqrt(s);
  }

  /** Clip coefficient for a norm (PyTorch clip_grad_norm_: max / (norm + 1e-6), at most 1). */
  public static double clipScale(double norm, double maxNorm) {
    if (maxNorm <= 0) return 1.0;
    return Math.min(1.0, maxNorm / (norm + 1e-6));
  }

  /** One update of every parameter with learning rate lr, gradients multiplied by gradScale. */
  public void update(double lr, double gradScale) {
    step++;
    for (int i = 0; i < params.size(); i++) {
      TrainableModel.Param p = params.get(i);
      backend.adamwUpdate(master.get(i), p.weight(), p.grad(), m.get(i), v.get(i), lr, beta1, beta2, eps,
          p.decay() ? weightDecay : 0.0, step, gradScale);
    }
  }

  /** Saves master weights and moments bit-exactly. */
  public void save(Path file) throws IOException {
    StateFile.write(backend, file, stateTensors());
  }

  public void load(Path file, long steps) throws IOException {
    StateFile.read(backend, file, stateTensors());
    // The working weights are the masters rounded to the compute dtype, exactly as after an update.
    for (int i = 0; i < params.size(); i++) {
      Tensor w = params.get(i).weight();
      if (master.get(i) != w) backend.upload(w, backend.downloadFloats(master.get(i)));
    }
    this.step = steps;
  }

  private Map<String, Tensor> stateTensors() {
    Map<String, Tensor> t = new LinkedHashMap<>();
    for (int i = 0; i < params.size(); i++) {
      String n = params.get(i).name();
      t.put(n, master.get(i));
      t.put(n + ".exp_avg", m.get(i));
      t.put(n + ".exp_avg_sq", v.get(i));
    }
    return t;
  }
}
