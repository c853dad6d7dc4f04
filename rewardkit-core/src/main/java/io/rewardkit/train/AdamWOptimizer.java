package io.rewardkit.train;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backend.AdamWStep;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.TrainableModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW over a model's parameter arenas, as llm.c does it: the parameters lie in one weight arena and one
 * gradient arena laid out by optimizer group (every weight-decay tensor, {@link TrainableModel.Param#decay()},
 * in one contiguous span, every no-decay tensor, norms and biases, in another), and the fp32 master weights
 * and both moments are arenas with the same layout. A step is one whole-arena sum of squares
 * ({@link #gradNorm}, one host sync on a device) and one fused AdamW call per group ({@link #update}).
 * Global-norm clipping is folded into the update as a gradient scale.
 *
 * <p>The backend decides the master layout: {@link Backend#masterWeights} returns the F32 weight span itself
 * where the model computes in F32 (CPU), or an fp32 master copy beside a BF16 working span (CUDA); the
 * optimizer updates and checkpoints the masters and the backend refreshes the working copies. The state file
 * keeps one entry per parameter name (views into the arenas), so its format does not depend on the layout.
 */
public final class AdamWOptimizer {
  /** One optimizer group: the spans of the weight and gradient arenas it covers, and its state arenas. */
  private record Group(boolean decay, long begin, Tensor weights, Tensor grads, Tensor master, Tensor m, Tensor v) {}

  private static final long LOAD_CHUNK = 1 << 20;

  private final Backend backend;
  private final Tensor gradArena;
  private final List<TrainableModel.Param> params;
  private final List<Group> groups = new ArrayList<>();
  private final double beta1, beta2, eps, weightDecay;
  private long step;  // optimizer steps taken

  public AdamWOptimizer(TrainableModel model, double beta1, double beta2, double eps, double weightDecay) {
    this(model.backend(), model.weightArena(), model.gradArena(), model.params(), beta1, beta2, eps, weightDecay);
  }

  /**
   * weights, grads: the flat arenas every parameter's weight and grad view (same offsets in both), laid out by
   * optimizer group. Throws IllegalArgumentException naming the first parameter that breaks that layout.
   */
  public AdamWOptimizer(Backend backend, Tensor weights, Tensor grads, List<TrainableModel.Param> params,
      double beta1, double beta2, double eps, double weightDecay) {
    this.backend = backend;
    this.gradArena = grads;
    this.params = List.copyOf(params);
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    if (weights.numel() != grads.numel()) {
      throw new IllegalArgumentException("weight arena " + weights + " and gradient arena " + grads + " differ in size");
    }
    List<TrainableModel.Param> byOffset = new ArrayList<>(this.params);
    for (TrainableModel.Param p : byOffset) {
      long at = offsetIn(weights, p.weight(), p.name() + " weight");
      if (offsetIn(grads, p.grad(), p.name() + " grad") != at || p.grad().numel() != p.weight().numel()) {
        throw new IllegalArgumentException(p.name() + ": gradient is not at its weight's place in the gradient arena");
      }
    }
    byOffset.sort(Comparator.comparingLong(p -> offsetIn(weights, p.weight(), p.name())));
    // Each group must be one run in offset order (decay first, as the model lays it out, or the other way).
    for (int i = 0, runs = 0; i < byOffset.size(); i++) {
      if (i > 0 && byOffset.get(i).decay() == byOffset.get(i - 1).decay()) continue;
      if (++runs > 2) {
        throw new IllegalArgumentException("parameters are not laid out by optimizer group: " + byOffset.get(i).name()
            + " (weight decay " + byOffset.get(i).decay() + ") lies between tensors of the other group");
      }
    }
    for (boolean decay : new boolean[] {true, false}) {
      long begin = Long.MAX_VALUE, end = Long.MIN_VALUE;
      for (TrainableModel.Param p : byOffset) {
        if (p.decay() != decay) continue;
        long at = offsetIn(weights, p.weight(), p.name());
        begin = Math.min(begin, at);
        end = Math.max(end, at + p.weight().numel());
      }
      if (begin > end) continue;  // empty group
      Tensor w = flat(weights).view(begin, end - begin), g = flat(grads).view(begin, end - begin);
      Tensor master = backend.masterWeights(w);                 // F32 [span]; the span itself when F32
      Tensor m = backend.allocate(DType.F32, end - begin);      // m [span]
      Tensor v = backend.allocate(DType.F32, end - begin);      // v [span]
      groups.add(new Group(decay, begin, w, g, master, m, v));
    }
  }

  /** Offset of a view in an arena, checking it lies inside it. */
  private static long offsetIn(Tensor arena, Tensor view, String what) {
    long at = view.offset() - arena.offset();
    if (view.allocation() != arena.allocation() || at < 0 || at + view.numel() > arena.numel()) {
      throw new IllegalArgumentException(what + " is not a view of the model's parameter arena " + arena);
    }
    return at;
  }

  private static Tensor flat(Tensor t) { return t.reshape(t.numel()); }

  public long step() { return step; }

  /** Global L2 norm of all gradients (before clipping): one sum of squares over the gradient arena; NaN/Inf if any gradient is. */
  public double gradNorm() {
    return Math.sqrt(backend.gradSumSquares(flat(gradArena)));
  }

  /** Clip coefficient for a norm (PyTorch clip_grad_norm_: max / (norm + 1e-6), at most 1). */
  public static double clipScale(double norm, double maxNorm) {
    if (maxNorm <= 0) return 1.0;
    return Math.min(1.0, maxNorm / (norm + 1e-6));
  }

  /** One update of every parameter with learning rate lr, gradients multiplied by gradScale: one call per group. */
  public void update(double lr, double gradScale) {
    step++;
    for (Group g : groups) {
      backend.adamwUpdate(g.master(), g.weights(), g.grads(), g.m(), g.v(),
          new AdamWStep(lr, beta1, beta2, eps, g.decay() ? weightDecay : 0.0, step, gradScale));
    }
  }

  /** Saves master weights and moments bit-exactly (one entry per parameter name). */
  public void save(Path file) throws IOException {
    StateFile.write(backend, file, stateTensors());
  }

  public void load(Path file, long steps) throws IOException {
    StateFile.read(backend, file, stateTensors());
    // The working weights are the masters rounded to the compute dtype, exactly as after an update
    // (moved in chunks: a group of a large model has more elements than a Java array holds).
    for (Group g : groups) {
      if (g.master() == g.weights()) continue;
      for (long pos = 0; pos < g.master().numel(); pos += LOAD_CHUNK) {
        long n = Math.min(LOAD_CHUNK, g.master().numel() - pos);
        backend.upload(g.weights().view(pos, n), backend.downloadFloats(g.master().view(pos, n)));
      }
    }
    this.step = steps;
  }

  /** Per-parameter views of the state arenas, in the parameters' order (the order the file has always had). */
  private Map<String, Tensor> stateTensors() {
    Map<String, Tensor> t = new LinkedHashMap<>();
    for (TrainableModel.Param p : params) {
      Group g = groupOf(p);
      long local = p.weight().offset() - g.weights().offset();  // both views of the one weight arena
      long[] shape = p.weight().shape();
      t.put(p.name(), g.master().view(local, shape));
      t.put(p.name() + ".exp_avg", g.m().view(local, shape));
      t.put(p.name() + ".exp_avg_sq", g.v().view(local, shape));
    }
    return t;
  }

  private Group groupOf(TrainableModel.Param p) {
    for (Group g : groups) if (g.decay() == p.decay()) return g;
    throw new IllegalStateException("no optimizer group for " + p.name());
  }
}
