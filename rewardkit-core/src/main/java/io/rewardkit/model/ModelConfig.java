package io.rewardkit.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.kernels.RopeTables;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The architecture of a decoder reward model, read from a Hugging Face {@code config.json}
 * ({@code model_type} llama, qwen2, qwen3 or mistral) and written back for a
 * {@code <Family>ForSequenceClassification} checkpoint.
 *
 * <p>Features RewardKit does not implement (sliding-window attention, rope scaling other than
 * llama3, MLP biases, activations other than SiLU) are rejected when the config is read, with the
 * file and field in the message, rather than silently trained wrong.
 *
 * @param family               model family ({@code model_type})
 * @param hiddenSize           D
 * @param intermediateSize     F (MLP width)
 * @param numHiddenLayers      L
 * @param numAttentionHeads    Hq
 * @param numKeyValueHeads     Hkv (GQA; defaults to Hq when absent)
 * @param headDim              hd ({@code head_dim} when given, else D / Hq)
 * @param rmsNormEps           epsilon of every RMSNorm
 * @param ropeTheta            rotary base (default 10000)
 * @param ropeScaling          llama3 frequency scaling, or null for none
 * @param vocabSize            V
 * @param maxPositionEmbeddings largest position + 1 the rotary tables cover
 * @param qkvBias              q/k/v projections have biases (qwen2 always; llama/qwen3 {@code attention_bias})
 * @param oBias                o projection has a bias (llama/qwen3 {@code attention_bias}; never qwen2)
 * @param qkNorm               per-head RMSNorm on q and k before rope (qwen3)
 * @param padTokenId           {@code pad_token_id}, or null
 * @param initializerRange     std of the normal init for weights ({@code initializer_range}, default 0.02)
 * @param rawJson              the config.json text this was read from (carried through on save so
 *                             fields RewardKit does not interpret, e.g. bos/eos ids, survive), or null
 */
public record ModelConfig(
    ModelFamily family,
    int hiddenSize,
    int intermediateSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int numKeyValueHeads,
    int headDim,
    double rmsNormEps,
    double ropeTheta,
    RopeScaling ropeScaling,
    int vocabSize,
    int maxPositionEmbeddings,
    boolean qkvBias,
    boolean oBias,
    boolean qkNorm,
    Integer padTokenId,
    double initializerRange,
    String rawJson) {

  /**
   * Llama 3 rotary frequency scaling ({@code rope_scaling.rope_type == "llama3"}).
   */
  public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositionEmbeddings) {}

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  public ModelConfig {
    if (family == null) throw new IllegalArgumentException("family is null");
    positive("hidden_size", hiddenSize);
    positive("intermediate_size", intermediateSize);
    positive("num_hidden_layers", numHiddenLayers);
    positive("num_attention_heads", numAttentionHeads);
    positive("num_key_value_heads", numKeyValueHeads);
    positive("head_dim", headDim);
    positive("vocab_size", vocabSize);
    positive("max_position_embeddings", maxPositionEmbeddings);
    if (numAttentionHeads % numKeyValueHeads != 0) {
      throw new IllegalArgumentException("num_attention_heads " + numAttentionHeads
          + " is not a multiple of num_key_value_heads " + numKeyValueHeads);
    }
    if (headDim % 2 != 0) throw new IllegalArgumentException("head_dim " + headDim + " must be even for rotary embeddings");
    if (!(rmsNormEps > 0)) throw new IllegalArgumentException("rms_norm_eps must be > 0, got " + rmsNormEps);
    if (!(ropeTheta > 0)) throw new IllegalArgumentException("rope_theta must be > 0, got " + ropeTheta);
    if (!(initializerRange > 0)) throw new IllegalArgumentException("initializer_range must be > 0, got " + initializerRange);
    if (ropeScaling != null) {  // the kernel-side record validates the factors
      new RopeTables.Llama3Scaling(ropeScaling.factor(), ropeScaling.lowFreqFactor(), ropeScaling.highFreqFactor(),
          ropeScaling.originalMaxPositionEmbeddings());
    }
  }

  /**
   * Fails (naming {@code source} and the config field) when {@code backend} cannot run this model's
   * attention, e.g. a head_dim the CUDA kernels do not take: at load time instead of mid-step.
   */
  public void requireSupportedBy(io.rewardkit.kernels.Backend backend, String source) {
    String why = backend.attentionShapeProblem(headDim, numAttentionHeads, numKeyValueHeads);
    if (why == null) return;
    boolean explicit = headDimExplicit();
    String field = explicit ? "head_dim" : "hidden_size / num_attention_heads";
    String value = explicit ? String.valueOf(headDim) : hiddenSize + " / " + numAttentionHeads + " = " + headDim;
    throw new RewardKitException(source + ": field '" + field + "' (" + value + ") is not supported on "
        + backend.device().name().toLowerCase(java.util.Locale.ROOT) + ": " + why);
  }

  /** Whether config.json states head_dim (else it is hidden_size / num_attention_heads). */
  private boolean headDimExplicit() {
    if (rawJson == null) return true;
    try {
      return JSON.readTree(rawJson).hasNonNull("head_dim");
    } catch (JsonProcessingException e) {
      return true;
    }
  }

  private static void positive(String field, int v) {
    if (v <= 0) throw new IllegalArgumentException(field + " must be > 0, got " + v);
  }

  /** Hq · hd, the width of q and of the attention output. */
  public int qDim() { return numAttentionHeads * headDim; }

  /** Hkv · hd, the width of k and v. */
  public int kvDim() { return numKeyValueHeads * headDim; }

  /** A copy with another {@code pad_token_id}. */
  public ModelConfig withPadTokenId(Integer pad) {
    return new ModelConfig(family, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads,
        headDim, rmsNormEps, ropeTheta, ropeScaling, vocabSize, maxPositionEmbeddings, qkvBias, oBias, qkNorm, pad,
        initializerRange, rawJson);
  }

  /** A copy carrying other pass-through config.json text (null: none). */
  public ModelConfig withRawJson(String json) {
    return new ModelConfig(family, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads,
        headDim, rmsNormEps, ropeTheta, ropeScaling, vocabSize, maxPositionEmbeddings, qkvBias, oBias, qkNorm, padTokenId,
        initializerRange, json);
  }

  // ---- reading --------------------------------------------------------------------------------

  /** Reads {@code config.json} (a file, or a directory holding one). */
  /** Parameters of the reward model this config describes (score head included), without allocating it. */
  public long numParameters() {
    long n = 0;
    for (ModelParameters.Spec s : ModelParameters.specs(this)) {
      long e = 1;
      for (long d : s.shape()) e *= d;
      n += e;
    }
    return n;
  }

  public static ModelConfig load(Path path) {
    Path file = Files.isDirectory(path) ? path.resolve("config.json") : path;
    if (!Files.isRegularFile(file)) throw new RewardKitException(file + ": model config not found");
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new RewardKitException(file + ": cannot read model config: " + e.getMessage(), e);
    }
    return parse(text, file.toString());
  }

  /** Parses config.json text; {@code source} names the file in error messages. */
  public static ModelConfig parse(String json, String source) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new RewardKitException(source + ": not valid JSON: " + e.getOriginalMessage()
          + (e.getLocation() != null ? " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")" : ""));
    }
    if (root == null || !root.isObject()) throw new RewardKitException(source + ": expected a JSON object");
    Fields f = new Fields(root, source);

    String modelType = f.string("model_type", null);
    if (modelType == null) throw f.error("model_type", "missing required field");
    ModelFamily family = ModelFamily.fromModelType(modelType);
    if (family == null) {
      throw f.error("model_type", "unsupported model_type '" + modelType + "' (supported: llama, qwen2, qwen3, mistral)");
    }

    // Unsupported features: refuse rather than train a different model.
    if (family == ModelFamily.MISTRAL) {
      // Accepted here; checkMaxLength() refuses a max_length the window would cut (full attention == the window below it).
      JsonNode sw = root.get("sliding_window");
      if (sw != null && !sw.isNull() && !(sw.isIntegralNumber() && sw.canConvertToInt() && sw.intValue() > 0)) {
        throw f.error("sliding_window", "expected a positive integer or null, got " + sw);
      }
    }
    if (family == ModelFamily.QWEN2 || family == ModelFamily.QWEN3) {
      if (f.bool("use_sliding_window", false)) {
        throw f.error("use_sliding_window", "sliding-window attention is not supported; set it to false");
      }
    }
    JsonNode layerTypes = root.get("layer_types");  // transformers >= 4.5x: per-layer attention kind
    if (layerTypes != null && layerTypes.isArray()) {
      for (JsonNode lt : layerTypes) {
        if (!"full_attention".equals(lt.asText())) {
          throw f.error("layer_types", "layer type '" + lt.asText() + "' is not supported (only full_attention)");
        }
      }
    }
    if (f.bool("mlp_bias", false)) throw f.error("mlp_bias", "MLP biases are not supported");
    String act = f.string("hidden_act", "silu");
    if (!act.equals("silu")) throw f.error("hidden_act", "activation '" + act + "' is not supported (only silu)");

    int hidden = f.requiredInt("hidden_size");
    int heads = f.requiredInt("num_attention_heads");
    int kvHeads = f.optInt("num_key_value_heads", heads);
    int headDim;
    if (root.hasNonNull("head_dim")) {
      headDim = f.requiredInt("head_dim");
    } else {
      if (heads <= 0 || hidden % heads != 0) {
        throw f.error("head_dim", "absent and hidden_size " + hidden + " is not divisible by num_attention_heads " + heads);
      }
      headDim = hidden / heads;
    }

    boolean qkvBias;
    boolean oBias;
    switch (family) {
      case QWEN2 -> { qkvBias = true; oBias = false; }
      case LLAMA, QWEN3 -> { qkvBias = oBias = f.bool("attention_bias", false); }
      default -> { qkvBias = oBias = false; }
    }

    int defaultMaxPos = switch (family) {
      case LLAMA -> 2048;
      case QWEN2, QWEN3 -> 32768;
      case MISTRAL -> 4096 * 32;
    };

    try {
      return new ModelConfig(
          family,
          hidden,
          f.requiredInt("intermediate_size"),
          f.requiredInt("num_hidden_layers"),
          heads,
          kvHeads,
          headDim,
          f.optDouble("rms_norm_eps", 1e-6),
          ropeTheta(f, root),
          ropeParameters(root) != null ? parseRopeScaling(f, ropeParameters(root), "rope_parameters")
              : parseRopeScaling(f, root.get("rope_scaling"), "rope_scaling"),
          f.requiredInt("vocab_size"),
          f.optInt("max_position_embeddings", defaultMaxPos),
          qkvBias,
          oBias,
          family == ModelFamily.QWEN3,
          root.hasNonNull("pad_token_id") ? Integer.valueOf(f.requiredInt("pad_token_id")) : null,
          f.optDouble("initializer_range", 0.02),
          json);
    } catch (IllegalArgumentException e) {
      throw new RewardKitException(source + ": " + e.getMessage());
    }
  }

  /** Mistral's {@code sliding_window} (tokens each query sees), or null when attention is full. */
  public Integer slidingWindow() {
    if (family != ModelFamily.MISTRAL || rawJson == null) return null;
    try {
      JsonNode sw = JSON.readTree(rawJson).get("sliding_window");
      return sw == null || sw.isNull() ? null : sw.intValue();
    } catch (JsonProcessingException e) {
      return null;
    }
  }

  /**
   * Refuses a max_length the model cannot take: longer than max_position_embeddings, or (Mistral)
   * than sliding_window. RewardKit attends over the whole sequence: a sliding window changes nothing
   * while sequences fit in it, so a config with one is usable exactly when {@code maxLength <= sliding_window}.
   */
  public void checkMaxLength(int maxLength, String option) {
    if (maxLength > maxPositionEmbeddings) {
      throw new RewardKitException(option + " " + maxLength + " is longer than the model's max_position_embeddings "
          + maxPositionEmbeddings + "; use " + option + " <= " + maxPositionEmbeddings);
    }
    Integer sw = slidingWindow();
    if (sw != null && maxLength > sw) {
      throw new RewardKitException("model config: sliding-window attention (sliding_window " + sw + ") is not supported for "
          + option + " " + maxLength + " > " + sw + "; use " + option + " <= " + sw + " (the window then has no effect) or set sliding_window to null");
    }
  }

  /** transformers 5 writes {@code rope_parameters} (theta, type, scaling factors) instead of rope_theta/rope_scaling. */
  private static JsonNode ropeParameters(JsonNode root) {
    JsonNode n = root.get("rope_parameters");
    return n == null || n.isNull() ? null : n;
  }

  private static double ropeTheta(Fields f, JsonNode root) {
    JsonNode rp = ropeParameters(root);
    if (rp != null && rp.isObject() && rp.hasNonNull("rope_theta")) {
      return new Fields(rp, f.source, "rope_parameters.").requiredDouble("rope_theta");
    }
    return f.optDouble("rope_theta", 10000.0);
  }

  private static RopeScaling parseRopeScaling(Fields f, JsonNode node, String field) {
    if (node == null || node.isNull()) return null;
    if (!node.isObject()) throw f.error(field, "expected an object or null, got " + node);
    JsonNode typeNode = node.has("rope_type") ? node.get("rope_type") : node.get("type");
    String type = typeNode == null || typeNode.isNull() ? "default" : typeNode.asText();
    if (type.equals("default")) return null;
    if (!type.equals("llama3")) {
      throw f.error(field, "rope scaling type '" + type + "' is not supported (only llama3)");
    }
    Fields s = new Fields(node, f.source, field + ".");
    return new RopeScaling(
        s.requiredDouble("factor"),
        s.requiredDouble("low_freq_factor"),
        s.requiredDouble("high_freq_factor"),
        s.requiredInt("original_max_position_embeddings"));
  }

  /** Typed access to config fields with errors that name the file and the field. */
  private static final class Fields {
    final JsonNode root;
    final String source;
    final String prefix;

    Fields(JsonNode root, String source) { this(root, source, ""); }

    Fields(JsonNode root, String source, String prefix) {
      this.root = root;
      this.source = source;
      this.prefix = prefix;
    }

    RewardKitException error(String field, String what) {
      return new RewardKitException(source + ": field '" + prefix + field + "': " + what);
    }

    JsonNode present(String field) {
      JsonNode n = root.get(field);
      if (n == null || n.isNull()) throw error(field, "missing required field");
      return n;
    }

    int requiredInt(String field) {
      JsonNode n = present(field);
      if (!n.isIntegralNumber() || !n.canConvertToInt()) throw error(field, "expected an integer, got " + n);
      return n.intValue();
    }

    int optInt(String field, int dflt) {
      return root.hasNonNull(field) ? requiredInt(field) : dflt;
    }

    double requiredDouble(String field) {
      JsonNode n = present(field);
      if (!n.isNumber()) throw error(field, "expected a number, got " + n);
      return n.doubleValue();
    }

    double optDouble(String field, double dflt) {
      return root.hasNonNull(field) ? requiredDouble(field) : dflt;
    }

    boolean bool(String field, boolean dflt) {
      JsonNode n = root.get(field);
      if (n == null || n.isNull()) return dflt;
      if (!n.isBoolean()) throw error(field, "expected true or false, got " + n);
      return n.booleanValue();
    }

    String string(String field, String dflt) {
      JsonNode n = root.get(field);
      if (n == null || n.isNull()) return dflt;
      if (!n.isTextual()) throw error(field, "expected a string, got " + n);
      return n.textValue();
    }
  }

  // ---- writing --------------------------------------------------------------------------------

  /**
   * The config.json of a {@code <Family>ForSequenceClassification} checkpoint with one label, as
   * HF {@code AutoModelForSequenceClassification.from_pretrained} reads it. Fields of the source
   * config RewardKit does not interpret are kept; every field it does interpret is written from
   * this record. When {@code pad_token_id} is unset the source's {@code eos_token_id} is used (HF
   * needs a pad id to find the last token of each row of a padded batch).
   *
   * @param torchDtype {@code float32} or {@code bfloat16}, the dtype the weights are stored in
   */
  public ObjectNode toSequenceClassificationJson(String torchDtype) {
    ObjectNode out = JsonNodeFactory.instance.objectNode();
    ObjectNode src = null;
    if (rawJson != null) {
      try {
        JsonNode n = JSON.readTree(rawJson);
        if (n != null && n.isObject()) src = (ObjectNode) n;
      } catch (JsonProcessingException e) {
        // rawJson was parsed once already; an unreadable copy only loses pass-through fields.
      }
    }
    ArrayNode arch = out.putArray("architectures");
    arch.add(family.sequenceClassificationArchitecture());
    out.put("model_type", family.modelType());
    out.put("hidden_size", hiddenSize);
    out.put("intermediate_size", intermediateSize);
    out.put("num_hidden_layers", numHiddenLayers);
    out.put("num_attention_heads", numAttentionHeads);
    out.put("num_key_value_heads", numKeyValueHeads);
    out.put("head_dim", headDim);
    out.put("hidden_act", "silu");
    out.put("rms_norm_eps", rmsNormEps);
    out.put("rope_theta", ropeTheta);
    if (ropeScaling == null) {
      out.putNull("rope_scaling");
    } else {
      ObjectNode rs = out.putObject("rope_scaling");
      rs.put("rope_type", "llama3");
      rs.put("factor", ropeScaling.factor());
      rs.put("low_freq_factor", ropeScaling.lowFreqFactor());
      rs.put("high_freq_factor", ropeScaling.highFreqFactor());
      rs.put("original_max_position_embeddings", ropeScaling.originalMaxPositionEmbeddings());
    }
    out.put("vocab_size", vocabSize);
    out.put("max_position_embeddings", maxPositionEmbeddings);
    out.put("initializer_range", initializerRange);
    switch (family) {
      case LLAMA -> { out.put("attention_bias", qkvBias); out.put("mlp_bias", false); }
      case QWEN3 -> { out.put("attention_bias", qkvBias); out.put("use_sliding_window", false); }
      case QWEN2 -> out.put("use_sliding_window", false);
      case MISTRAL -> {
        // kept as the base had it: identical to full attention for sequences up to the window (checkMaxLength)
        Integer sw = slidingWindow();
        if (sw == null) out.putNull("sliding_window");
        else out.put("sliding_window", sw.intValue());
      }
    }
    ObjectNode id2label = out.putObject("id2label");
    id2label.put("0", "LABEL_0");
    ObjectNode label2id = out.putObject("label2id");
    label2id.put("LABEL_0", 0);
    Integer pad = padTokenId;
    if (pad == null && src != null && src.hasNonNull("eos_token_id")) {
      JsonNode eos = src.get("eos_token_id");
      if (eos.isArray() && eos.size() > 0 && eos.get(0).canConvertToInt()) pad = eos.get(0).intValue();
      else if (eos.isIntegralNumber() && eos.canConvertToInt()) pad = eos.intValue();
    }
    if (pad == null) out.putNull("pad_token_id");
    else out.put("pad_token_id", pad.intValue());
    out.put("torch_dtype", torchDtype);
    out.put("use_cache", false);
    if (src != null) {
      // Pass through what we do not interpret (bos/eos ids, tie_word_embeddings, transformers_version, ...),
      // but never a label mapping or problem type for a different head.
      var it = src.properties().iterator();
      while (it.hasNext()) {
        var e = it.next();
        String k = e.getKey();
        if (out.has(k) || k.equals("num_labels") || k.equals("problem_type") || k.equals("dtype")) continue;
        out.set(k, e.getValue());
      }
    }
    return out;
  }

  /** The sequence-classification config.json as pretty-printed text. */
  public String toSequenceClassificationJsonText(String torchDtype) {
    try {
      return JSON.writeValueAsString(toSequenceClassificationJson(torchDtype)) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
