package io.rewardkit.model.lora;

import io.rewardkit.config.LoraTargets;
import io.rewardkit.model.LinearModule;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * A LoRA setup under PEFT's names: rank {@code r}, {@code lora_alpha}, {@code lora_dropout},
 * {@code target_modules} and {@code use_rslora}. The scaling of the low-rank path is
 * {@code lora_alpha / r}, or {@code lora_alpha / sqrt(r)} with rsLoRA (Kalajdzievski 2023), as PEFT computes it.
 */
public record LoraConfig(int r, double alpha, double dropout, Set<LinearModule> targets, boolean useRslora) {
  public LoraConfig {
    if (r < 1) throw new IllegalArgumentException("lora r must be >= 1, got " + r);
    if (targets.isEmpty()) throw new IllegalArgumentException("LoRA needs at least one target module");
    // Reward models train without dropout (the base's own dropout is off too); an adapter that claims a
    // dropout it was not trained with would mislead, so only 0 is accepted.
    if (dropout != 0) throw new IllegalArgumentException("lora_dropout " + dropout + " is not supported (only 0)");
    targets = Set.copyOf(EnumSet.copyOf(targets));
  }

  public double scaling() { return useRslora ? alpha / Math.sqrt(r) : alpha / r; }

  /** The targets in HF module order (q, k, v, o, gate, up, down). */
  public List<LinearModule> orderedTargets() { return List.copyOf(EnumSet.copyOf(targets)); }

  /** The targets' HF names in module order, as adapter_config.json lists them. */
  public List<String> targetNames() {
    List<String> out = new ArrayList<>();
    for (LinearModule m : orderedTargets()) out.add(m.hfName());
    return out;
  }

  /** The modules {@code --lora_target_modules} selects (grammar and errors: {@link LoraTargets}). */
  public static Set<LinearModule> parseTargets(String spec, String option) {
    Set<LinearModule> out = EnumSet.noneOf(LinearModule.class);
    for (String n : LoraTargets.parse(spec, option)) out.add(LinearModule.byHfName(n));
    return out;
  }
}
