package io.rewardkit.model.lora;

import io.rewardkit.UsageException;
import io.rewardkit.model.LinearModule;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
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

  /**
   * Parses {@code --lora_target_modules}: {@code all-linear} (PEFT's shorthand: every linear of the
   * decoder layers, the score head excluded) or comma-separated HF names. {@code option} names the
   * option or file field in errors.
   */
  public static Set<LinearModule> parseTargets(String spec, String option) {
    String s = spec.trim();
    if (s.equalsIgnoreCase("all-linear") || s.equalsIgnoreCase("all_linear")) return EnumSet.allOf(LinearModule.class);
    Set<LinearModule> out = EnumSet.noneOf(LinearModule.class);
    for (String part : s.split(",")) {
      String name = part.trim().toLowerCase(Locale.ROOT);
      if (name.isEmpty()) continue;
      LinearModule m = LinearModule.byHfName(name);
      if (m == null) {
        throw new UsageException(option + ": '" + part.trim() + "' is not a linear module of a Llama/Qwen2/Qwen3/Mistral decoder"
            + " layer; use all-linear or some of " + String.join(",", allNames()));
      }
      out.add(m);
    }
    if (out.isEmpty()) throw new UsageException(option + ": no module named; use all-linear or some of " + String.join(",", allNames()));
    return out;
  }

  /** Whether {@link #parseTargets} accepts spec. */
  public static boolean isTargetSpec(String spec) {
    try {
      parseTargets(spec, "");
      return true;
    } catch (UsageException e) {
      return false;
    }
  }

  static List<String> allNames() {
    List<String> n = new ArrayList<>();
    for (LinearModule m : LinearModule.values()) n.add(m.hfName());
    return n;
  }
}
