package io.rewardkit.config;

import io.rewardkit.UsageException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The grammar of {@code --lora_target_modules}: {@code all-linear} (PEFT's shorthand: every linear of the
 * decoder layers, the score head excluded) or comma-separated HF module names. Here in config so that the
 * option registry validates it; the model maps the names to its modules.
 */
public final class LoraTargets {
  private LoraTargets() {}

  /** The linear modules of a Llama/Qwen2/Qwen3/Mistral decoder layer, in HF module order. */
  public static final List<String> NAMES = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

  /** The module names {@code spec} selects, in HF module order; {@code option} names the option or field in errors. */
  public static List<String> parse(String spec, String option) {
    String s = spec.trim();
    if (s.equalsIgnoreCase("all-linear") || s.equalsIgnoreCase("all_linear")) return NAMES;
    Set<String> chosen = new LinkedHashSet<>();
    for (String part : s.split(",")) {
      String name = part.trim().toLowerCase(Locale.ROOT);
      if (name.isEmpty()) continue;
      if (!NAMES.contains(name)) {
        throw new UsageException(option + ": '" + part.trim() + "' is not a linear module of a Llama/Qwen2/Qwen3/Mistral decoder"
            + " layer; use all-linear or some of " + String.join(",", NAMES));
      }
      chosen.add(name);
    }
    if (chosen.isEmpty()) throw new UsageException(option + ": no module named; use all-linear or some of " + String.join(",", NAMES));
    List<String> out = new ArrayList<>();
    for (String n : NAMES) if (chosen.contains(n)) out.add(n);
    return out;
  }

  /** Whether {@link #parse} accepts spec. */
  public static boolean valid(String spec) {
    try {
      parse(spec, "");
      return true;
    } catch (UsageException e) {
      return false;
    }
  }
}
