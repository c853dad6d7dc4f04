package io.rewardkit.model;

import java.util.Locale;

/** Decoder families RewardKit can train, keyed by HF {@code model_type}. */
public enum ModelFamily {
  LLAMA("llama", "Llama"),
  QWEN2("qwen2", "Qwen2"),
  QWEN3("qwen3", "Qwen3"),
  MISTRAL("mistral", "Mistral");

  private final String modelType;
  private final String classPrefix;

  ModelFamily(String modelType, String classPrefix) {
    this.modelType = modelType;
    this.classPrefix = classPrefix;
  }

  /** HF {@code model_type}, e.g. {@code qwen2}. */
  public String modelType() { return modelType; }

  /** HF architecture of the reward model, e.g. {@code Qwen2ForSequenceClassification}. */
  public String sequenceClassificationArchitecture() { return classPrefix + "ForSequenceClassification"; }

  /** HF architecture of the base language model, e.g. {@code Qwen2ForCausalLM}. */
  public String causalLmArchitecture() { return classPrefix + "ForCausalLM"; }

  /** The family for a {@code model_type}, or null when unknown. */
  public static ModelFamily fromModelType(String modelType) {
    if (modelType == null) return null;
    String t = modelType.toLowerCase(Locale.ROOT);
    for (ModelFamily f : values()) if (f.modelType.equals(t)) return f;
    return null;
  }
}
