package io.rewardkit.model;

import java.util.Locale;

/** The linear modules of a decoder layer, under their HF names (what LoRA's target_modules name). */
public enum LinearModule {
  Q_PROJ("self_attn"), K_PROJ("self_attn"), V_PROJ("self_attn"), O_PROJ("self_attn"),
  GATE_PROJ("mlp"), UP_PROJ("mlp"), DOWN_PROJ("mlp");

  private final String parent;

  LinearModule(String parent) { this.parent = parent; }

  /** The HF module name, e.g. {@code q_proj}. */
  public String hfName() { return name().toLowerCase(Locale.ROOT); }

  /** The module's path in an HF model, e.g. {@code model.layers.3.self_attn.q_proj}. */
  public String path(int layer) { return "model.layers." + layer + "." + parent + "." + hfName(); }

  public long inFeatures(ModelConfig c) {
    return switch (this) {
      case Q_PROJ, K_PROJ, V_PROJ, GATE_PROJ, UP_PROJ -> c.hiddenSize();
      case O_PROJ -> c.qDim();
      case DOWN_PROJ -> c.intermediateSize();
    };
  }

  public long outFeatures(ModelConfig c) {
    return switch (this) {
      case Q_PROJ -> c.qDim();
      case O_PROJ -> c.hiddenSize();
      case K_PROJ, V_PROJ -> c.kvDim();
      case GATE_PROJ, UP_PROJ -> c.intermediateSize();
      case DOWN_PROJ -> c.hiddenSize();
    };
  }

  /** The module with this HF name, or null. */
  public static LinearModule byHfName(String name) {
    for (LinearModule m : values()) if (m.hfName().equals(name)) return m;
    return null;
  }
}
