package io.rewardkit.train;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.TrainableModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A tiny trainable reward model for trainer tests (separate layout only):
 * reward = bias + Σ over the sequence's tokens of w[token]. Exercises every trainer path
 * (decay and no-decay parameters, accumulation, checkpoints) in microseconds per step.
 */
final class BagModel implements TrainableModel {
  final Backend backend;
  final Tensor weights, grads;      // arenas [V + 1]: w (decay group) then bias (no-decay group)
  final Tensor w, dw, bias, dbias;  // w, dw [V]; bias, dbias [1]: views of the arenas
  volatile boolean nanGrad;  // test hook: backward writes a NaN gradient
  private PackedBatch last;
  private Tensor rewards;

  BagModel(Backend backend, int vocab, long seed) {
    this.backend = backend;
    weights = backend.allocate(DType.F32, vocab + 1);
    grads = backend.allocate(DType.F32, vocab + 1);
    w = weights.view(0, vocab);
    dw = grads.view(0, vocab);
    bias = weights.view(vocab, 1);
    dbias = grads.view(vocab, 1);
    SplittableRandom rng = new SplittableRandom(seed);
    for (int i = 0; i < vocab; i++) w.setDouble(i, rng.nextGaussian() * 0.02);
  }

  @Override public Backend backend() { return backend; }

  @Override public Tensor forward(PackedBatch b) {
    last = b;
    rewards = backend.allocate(DType.F32, b.numReadouts());
    int[] cu = b.cuSeqlens();
    for (int r = 0; r < b.numReadouts(); r++) {
      int idx = b.readout()[r], s = 0;
      while (cu[s + 1] <= idx) s++;
      double sum = bias.getDouble(0);
      for (int t = cu[s]; t <= idx; t++) sum += w.getDouble(b.tokens()[t]);
      rewards.setDouble(r, sum);
    }
    return rewards;
  }

  @Override public float[] score(PackedBatch b) {
    PackedBatch keep = last;
    float[] r = forward(b).toFloatArray();
    last = keep;
    return r;
  }

  @Override public void backward(Tensor dRewards) {
    int[] cu = last.cuSeqlens();
    for (int r = 0; r < last.numReadouts(); r++) {
      int idx = last.readout()[r], s = 0;
      while (cu[s + 1] <= idx) s++;
      double g = dRewards.getDouble(r);
      dbias.setDouble(0, dbias.getDouble(0) + g);
      for (int t = cu[s]; t <= idx; t++) dw.setDouble(last.tokens()[t], dw.getDouble(last.tokens()[t]) + g);
    }
    if (nanGrad) dw.setDouble(0, Double.NaN);
  }

  @Override public void zeroGrad() { backend.zero(dw); backend.zero(dbias); }

  @Override public Tensor weightArena() { return weights; }
  @Override public Tensor gradArena() { return grads; }

  @Override public List<Param> params() {
    return List.of(new Param("model.embed_tokens.weight", w, dw, true), new Param("score.bias", bias, dbias, false));
  }

  @Override public void saveHf(Path dir) throws IOException {
    Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llama\", \"vocab_size\": " + w.numel() + "}");
    Map<String, Tensor> t = new LinkedHashMap<>();
    t.put("model.embed_tokens.weight", w);
    t.put("score.bias", bias);
    StateFile.write(backend, dir.resolve("model.safetensors"), t);
  }
}
