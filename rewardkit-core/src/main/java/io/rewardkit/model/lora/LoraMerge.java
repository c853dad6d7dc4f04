package io.rewardkit.model.lora;

import io.rewardkit.kernels.Backend;
import io.rewardkit.model.Parameter;
import io.rewardkit.model.RewardModel;
import java.util.HashMap;
import java.util.Map;

/** Merges LoRA adapters into their base: W ← W + scaling · B · A for every adapted module (PEFT's merge_and_unload). */
public final class LoraMerge {
  private LoraMerge() {}

  /**
   * Folds {@code ad} into {@code model}'s weights (each sum in float64, rounded once to the weight's
   * dtype) and removes it as the model's hook; the model then computes without adapters what it
   * computed with them, up to that rounding.
   */
  public static void merge(RewardModel model, LoraAdapters ad) {
    if (model.hasNf4Base()) {
      throw new IllegalStateException("merging onto a 4-bit base would bake its quantisation error into the weights:"
          + " load the original base weights and merge there");
    }
    Backend be = model.backend();
    Map<String, Parameter> byName = new HashMap<>();
    for (Parameter p : model.parameters()) byName.put(p.hfName(), p);
    double s = ad.scale();
    int r = ad.config().r();
    for (LoraAdapters.Pair pair : ad.pairs()) {
      Parameter w = byName.get(pair.module.path(pair.layer) + ".weight");
      int out = (int) w.weight().dim(0), in = (int) w.weight().dim(1);
      double[] wv = be.downloadDoubles(w.weight());   // [out, in]
      double[] a = be.downloadDoubles(pair.a.weight()); // [r, in]
      double[] b = be.downloadDoubles(pair.b.weight()); // [out, r]
      for (int o = 0; o < out; o++) {
        for (int i = 0; i < in; i++) {
          double acc = 0;
          for (int j = 0; j < r; j++) acc += b[o * r + j] * a[j * in + i];
          wv[o * in + i] += s * acc;
        }
      }
      be.upload(w.weight(), wv);
    }
    if (model.linearHook() == ad) model.setLinearHook(null);
    model.restoreScoreHead();  // out of the adapters' arena before it is freed
    ad.close();
  }
}
