package io.rewardkit.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The dimensions of one real decoder model, with the values of its Hugging Face {@code config.json}.
 * One registry ({@link #all()}) feeds the JMH op benchmarks, {@code rewardkit bench} and the PyTorch
 * peer (through {@link #toHfConfig}), so every figure is taken on the same shapes.
 *
 * @param name                  registry key, the HF repository name without the organisation
 * @param modelType             HF {@code model_type} ({@code qwen2}, {@code llama})
 * @param hiddenSize            D
 * @param numLayers             L
 * @param numHeads              Hq
 * @param numKvHeads            Hkv (grouped-query attention)
 * @param intermediateSize      F (SwiGLU width)
 * @param vocabSize             V
 * @param attentionBias         q/k/v projections carry a bias (Qwen2)
 * @param ropeTheta             rotary base
 * @param rmsNormEps            RMSNorm epsilon
 * @param maxPositionEmbeddings context the model was trained for
 * @param tieWordEmbeddings     HF flag (irrelevant to a reward model, kept so config.json round-trips)
 */
public record ModelShape(
    String name,
    String modelType,
    int hiddenSize,
    int numLayers,
    int numHeads,
    int numKvHeads,
    int intermediateSize,
    int vocabSize,
    boolean attentionBias,
    double ropeTheta,
    double rmsNormEps,
    int maxPositionEmbeddings,
    boolean tieWordEmbeddings) {

  public ModelShape {
    if (hiddenSize <= 0 || numLayers <= 0 || numHeads <= 0 || numKvHeads <= 0 || intermediateSize <= 0 || vocabSize <= 0) {
      throw new IllegalArgumentException(name + ": every dimension must be positive");
    }
    if (hiddenSize % numHeads != 0) throw new IllegalArgumentException(name + ": hidden_size % num_attention_heads != 0");
    if (numHeads % numKvHeads != 0) throw new IllegalArgumentException(name + ": num_attention_heads % num_key_value_heads != 0");
  }

  // Values copied by hand from each model's config.json on the Hugging Face hub.
  public static final ModelShape QWEN25_05B =
      new ModelShape("Qwen2.5-0.5B", "qwen2", 896, 24, 14, 2, 4864, 151936, true, 1_000_000.0, 1e-6, 32768, true);
  public static final ModelShape QWEN25_15B =
      new ModelShape("Qwen2.5-1.5B", "qwen2", 1536, 28, 12, 2, 8960, 151936, true, 1_000_000.0, 1e-6, 131072, true);
  public static final ModelShape QWEN25_7B =
      new ModelShape("Qwen2.5-7B", "qwen2", 3584, 28, 28, 4, 18944, 152064, true, 1_000_000.0, 1e-6, 131072, false);
  public static final ModelShape LLAMA3_8B =
      new ModelShape("Llama-3-8B", "llama", 4096, 32, 32, 8, 14336, 128256, false, 500_000.0, 1e-5, 8192, false);

  private static final Map<String, ModelShape> REGISTRY = new LinkedHashMap<>();

  static {
    for (ModelShape s : List.of(QWEN25_05B, QWEN25_15B, QWEN25_7B, LLAMA3_8B)) REGISTRY.put(s.name.toLowerCase(Locale.ROOT), s);
  }

  public static List<ModelShape> all() { return List.copyOf(REGISTRY.values()); }

  /**
   * A registered shape by name (case-insensitive), optionally with a layer override:
   * {@code Qwen2.5-0.5B} or {@code Qwen2.5-0.5B:4L} (the same widths, 4 layers; for affordable CPU runs), or the path
   * of a Hugging Face {@code config.json} ending in {@code .json} ({@link #fromConfigFile}).
   */
  public static ModelShape byName(String spec) {
    String s = spec.trim();
    if (s.endsWith(".json")) return fromConfigFile(java.nio.file.Path.of(s));
    int layers = -1;
    int colon = s.lastIndexOf(':');
    if (colon > 0) {
      String suffix = s.substring(colon + 1).toUpperCase(Locale.ROOT);
      if (!suffix.endsWith("L")) throw new IllegalArgumentException("shape '" + spec + "': suffix must be like ':4L'");
      try {
        layers = Integer.parseInt(suffix.substring(0, suffix.length() - 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("shape '" + spec + "': bad layer count '" + suffix + "'");
      }
      s = s.substring(0, colon);
    }
    ModelShape base = REGISTRY.get(s.toLowerCase(Locale.ROOT));
    if (base == null) throw new IllegalArgumentException("unknown model shape '" + s + "'; known: " + String.join(", ", names()));
    return layers < 0 ? base : base.withLayers(layers);
  }

  /**
   * The shape of a Hugging Face {@code config.json} (as {@code train --init_config} reads it, e.g.
   * {@code examples/qwen2-tiny-config.json}); named by its file name. Missing keys are errors naming the file and key.
   */
  public static ModelShape fromConfigFile(java.nio.file.Path file) {
    com.fasterxml.jackson.databind.JsonNode n;
    try {
      n = new com.fasterxml.jackson.databind.ObjectMapper().readTree(file.toFile());
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("shape " + file + ": " + e.getMessage());
    }
    if (n == null || !n.isObject()) throw new IllegalArgumentException("shape " + file + ": not a JSON object");
    String type = n.path("model_type").asText("");
    if (!type.equals("qwen2") && !type.equals("llama")) {
      throw new IllegalArgumentException("shape " + file + ": model_type '" + type + "' (qwen2 or llama)");
    }
    int heads = required(n, file, "num_attention_heads");
    int hidden = required(n, file, "hidden_size");
    if (n.has("head_dim") && n.get("head_dim").asInt() * heads != hidden) {
      throw new IllegalArgumentException("shape " + file + ": head_dim " + n.get("head_dim").asInt()
          + " is not hidden_size / num_attention_heads (not a shape bench can build)");
    }
    return new ModelShape(file.getFileName().toString(), type, hidden, required(n, file, "num_hidden_layers"), heads,
        n.path("num_key_value_heads").asInt(heads), required(n, file, "intermediate_size"), required(n, file, "vocab_size"),
        type.equals("qwen2") || n.path("attention_bias").asBoolean(false), n.path("rope_theta").asDouble(10000.0),
        n.path("rms_norm_eps").asDouble(1e-6), n.path("max_position_embeddings").asInt(4096),
        n.path("tie_word_embeddings").asBoolean(false));
  }

  private static int required(com.fasterxml.jackson.databind.JsonNode n, java.nio.file.Path file, String key) {
    if (!n.path(key).canConvertToInt()) throw new IllegalArgumentException("shape " + file + ": " + key + " missing or not an integer");
    return n.get(key).asInt();
  }

  public static List<String> names() { return REGISTRY.values().stream().map(ModelShape::name).toList(); }

  /** The same widths with another layer count; the name records the change ({@code Qwen2.5-0.5B:4L}). */
  public ModelShape withLayers(int layers) {
    if (layers <= 0) throw new IllegalArgumentException("layer count must be positive, got " + layers);
    if (layers == numLayers) return this;
    String baseName = name.contains(":") ? name.substring(0, name.indexOf(':')) : name;
    return new ModelShape(baseName + ":" + layers + "L", modelType, hiddenSize, layers, numHeads, numKvHeads,
        intermediateSize, vocabSize, attentionBias, ropeTheta, rmsNormEps, maxPositionEmbeddings, tieWordEmbeddings);
  }

  public int headDim() { return hiddenSize / numHeads; }
  /** Width of the fused q|k|v projection output: (Hq + 2·Hkv)·hd. */
  public int qkvWidth() { return (numHeads + 2 * numKvHeads) * headDim(); }
  public int qWidth() { return numHeads * headDim(); }
  public int kvWidth() { return numKvHeads * headDim(); }

  /** Parameters of one decoder layer: q/k/v/o projections (+ q/k/v bias), gate/up/down, two RMSNorm weights. */
  public long layerParameters() {
    long d = hiddenSize, f = intermediateSize;
    long attn = d * qWidth() + 2L * d * kvWidth() + (long) qWidth() * d + (attentionBias ? qkvWidth() : 0);
    long mlp = 3L * d * f;
    return attn + mlp + 2 * d;
  }

  /** Every parameter except the token embedding: layers, final norm, the scalar score head. */
  public long nonEmbeddingParameters() {
    return numLayers * layerParameters() + hiddenSize + hiddenSize;
  }

  public long embeddingParameters() { return (long) vocabSize * hiddenSize; }

  public long totalParameters() { return nonEmbeddingParameters() + embeddingParameters(); }

  /**
   * The Hugging Face {@code config.json} of this shape as a reward model
   * ({@code *ForSequenceClassification}, one label), as a map ready for a JSON writer.
   */
  public Map<String, Object> toHfConfig() {
    Map<String, Object> c = new LinkedHashMap<>();
    String arch = modelType.equals("qwen2") ? "Qwen2ForSequenceClassification" : "LlamaForSequenceClassification";
    c.put("architectures", List.of(arch));
    c.put("model_type", modelType);
    c.put("hidden_size", hiddenSize);
    c.put("num_hidden_layers", numLayers);
    c.put("num_attention_heads", numHeads);
    c.put("num_key_value_heads", numKvHeads);
    c.put("head_dim", headDim());
    c.put("intermediate_size", intermediateSize);
    c.put("vocab_size", vocabSize);
    c.put("hidden_act", "silu");
    c.put("rms_norm_eps", rmsNormEps);
    c.put("rope_theta", ropeTheta);
    c.put("max_position_embeddings", maxPositionEmbeddings);
    c.put("tie_word_embeddings", tieWordEmbeddings);
    if (modelType.equals("llama")) {
      c.put("attention_bias", attentionBias);
      c.put("mlp_bias", false);
    } else {
      c.put("use_sliding_window", false);
    }
    // The base checkpoints' special ids; the padding peer needs a pad id to find each row's last token.
    int eos = modelType.equals("llama") ? 128001 : 151643;
    c.put("bos_token_id", modelType.equals("llama") ? 128000 : 151643);
    c.put("eos_token_id", eos);
    c.put("pad_token_id", eos);
    c.put("num_labels", 1);
    c.put("torch_dtype", "bfloat16");
    c.put("initializer_range", 0.02);
    return c;
  }
}
