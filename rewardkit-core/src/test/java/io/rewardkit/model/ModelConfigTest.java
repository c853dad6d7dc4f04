package io.rewardkit.model;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ModelConfigTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  // Trimmed copies of the fields of real HF configs of each family.
  static final String QWEN25_05B = """
      {"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
       "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
       "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 24,
       "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2,
       "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": true,
       "torch_dtype": "bfloat16", "transformers_version": "4.43.1", "use_cache": true,
       "use_sliding_window": false, "vocab_size": 151936}
      """;

  static final String QWEN3_06B = """
      {"architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
       "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
       "hidden_size": 1024, "initializer_range": 0.02, "intermediate_size": 3072,
       "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
       "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
       "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null, "tie_word_embeddings": true,
       "torch_dtype": "bfloat16", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936}
      """;

  static final String LLAMA32_1B = """
      {"architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
       "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "head_dim": 64, "hidden_act": "silu",
       "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 8192,
       "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama", "num_attention_heads": 32,
       "num_hidden_layers": 16, "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
       "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
         "original_max_position_embeddings": 8192, "rope_type": "llama3"},
       "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "vocab_size": 128256}
      """;

  static final String MISTRAL_7B_V03 = """
      {"architectures": ["MistralForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2,
       "hidden_act": "silu", "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
       "max_position_embeddings": 32768, "model_type": "mistral", "num_attention_heads": 32,
       "num_hidden_layers": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 1000000.0,
       "sliding_window": null, "tie_word_embeddings": false, "torch_dtype": "bfloat16", "vocab_size": 32768}
      """;

  @Test
  void qwen2HasQkvBiasButNoOBias() {
    ModelConfig c = ModelConfig.parse(QWEN25_05B, "qwen.json");
    assertEquals(ModelFamily.QWEN2, c.family());
    assertEquals(896, c.hiddenSize());
    assertEquals(4864, c.intermediateSize());
    assertEquals(24, c.numHiddenLayers());
    assertEquals(14, c.numAttentionHeads());
    assertEquals(2, c.numKeyValueHeads());
    assertEquals(64, c.headDim());
    assertEquals(1e-6, c.rmsNormEps());
    assertEquals(1e6, c.ropeTheta());
    assertNull(c.ropeScaling());
    assertEquals(151936, c.vocabSize());
    assertEquals(32768, c.maxPositionEmbeddings());
    assertTrue(c.qkvBias());
    assertFalse(c.oBias());
    assertFalse(c.qkNorm());
    assertNull(c.padTokenId());
  }

  @Test
  void qwen3HasExplicitHeadDimAndQkNorm() {
    ModelConfig c = ModelConfig.parse(QWEN3_06B, "qwen3.json");
    assertEquals(ModelFamily.QWEN3, c.family());
    assertEquals(128, c.headDim());  // not 1024 / 16 = 64
    assertEquals(16 * 128, c.qDim());
    assertEquals(8 * 128, c.kvDim());
    assertTrue(c.qkNorm());
    assertFalse(c.qkvBias());
    assertFalse(c.oBias());
    assertEquals(1e6, c.ropeTheta());
  }

  @Test
  void llamaReadsLlama3RopeScalingAndAttentionBias() {
    ModelConfig c = ModelConfig.parse(LLAMA32_1B, "llama.json");
    assertEquals(ModelFamily.LLAMA, c.family());
    assertEquals(new ModelConfig.RopeScaling(32.0, 1.0, 4.0, 8192), c.ropeScaling());
    assertEquals(64, c.headDim());
    assertFalse(c.qkvBias());
    ModelConfig biased = ModelConfig.parse(LLAMA32_1B.replace("\"attention_bias\": false", "\"attention_bias\": true"), "x");
    assertTrue(biased.qkvBias());
    assertTrue(biased.oBias());
  }

  /** transformers 5 style: rope_parameters instead of rope_theta / rope_scaling, plus layer_types. */
  @Test
  void transformers5RopeParametersAndLayerTypes() {
    String v5 = """
        {"architectures": ["LlamaForSequenceClassification"], "model_type": "llama", "hidden_size": 32,
         "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
         "vocab_size": 50, "head_dim": 8, "dtype": "float32", "attention_bias": true, "mlp_bias": false,
         "rope_parameters": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
           "original_max_position_embeddings": 32, "rope_theta": 500000.0, "rope_type": "llama3"}}
        """;
    ModelConfig c = ModelConfig.parse(v5, "v5.json");
    assertEquals(500000.0, c.ropeTheta());
    assertEquals(new ModelConfig.RopeScaling(8.0, 1.0, 4.0, 32), c.ropeScaling());
    ModelConfig q = ModelConfig.parse("""
        {"model_type": "qwen2", "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 50,
         "layer_types": ["full_attention", "full_attention"],
         "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"}, "sliding_window": null}
        """, "q.json");
    assertEquals(1e6, q.ropeTheta());
    assertNull(q.ropeScaling());
    assertRejected(v5.replace("\"llama3\"", "\"yarn\""), "'rope_parameters'", "yarn");
    assertRejected(QWEN25_05B.replace("\"use_sliding_window\": false", "\"layer_types\": [\"full_attention\", \"sliding_attention\"]"),
        "'layer_types'", "sliding_attention");
  }

  @Test
  void mistralWithoutSlidingWindowParses() {
    ModelConfig c = ModelConfig.parse(MISTRAL_7B_V03, "mistral.json");
    assertEquals(ModelFamily.MISTRAL, c.family());
    assertEquals(128, c.headDim());
    assertEquals(8, c.numKeyValueHeads());
    assertFalse(c.qkvBias());
  }

  @Test
  void defaultsApplyWhenOptionalFieldsAreAbsent() {
    String json = """
        {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
         "num_attention_heads": 4, "vocab_size": 100, "pad_token_id": 0}
        """;
    ModelConfig c = ModelConfig.parse(json, "min.json");
    assertEquals(4, c.numKeyValueHeads());
    assertEquals(16, c.headDim());
    assertEquals(10000.0, c.ropeTheta());
    assertEquals(1e-6, c.rmsNormEps());
    assertEquals(2048, c.maxPositionEmbeddings());
    assertEquals(0.02, c.initializerRange());
    assertEquals(0, c.padTokenId());
  }

  private static void assertRejected(String json, String... fragments) {
    RewardKitException e = assertThrows(RewardKitException.class, () -> ModelConfig.parse(json, "/ckpt/config.json"));
    assertTrue(e.getMessage().startsWith("/ckpt/config.json"), e.getMessage());
    for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' not in: " + e.getMessage());
  }

  @Test
  void unsupportedFeaturesAreRejectedNamingTheField() {
    assertRejected(QWEN25_05B.replace("\"qwen2\"", "\"gpt2\""), "'model_type'", "gpt2");
    assertRejected(MISTRAL_7B_V03.replace("\"sliding_window\": null", "\"sliding_window\": -1"), "'sliding_window'", "-1");
    assertRejected(QWEN25_05B.replace("\"use_sliding_window\": false", "\"use_sliding_window\": true"), "'use_sliding_window'");
    assertRejected(QWEN3_06B.replace("\"use_sliding_window\": false", "\"use_sliding_window\": true"), "'use_sliding_window'");
    assertRejected(LLAMA32_1B.replace("\"llama3\"", "\"yarn\""), "'rope_scaling'", "yarn");
    assertRejected(LLAMA32_1B.replace("\"mlp_bias\": false", "\"mlp_bias\": true"), "'mlp_bias'");
    assertRejected(QWEN25_05B.replace("\"silu\"", "\"gelu\""), "'hidden_act'", "gelu");
    assertRejected("{\"model_type\": \"qwen2\", \"hidden_size\": 8}", "missing required field");
    assertRejected("{\"hidden_size\": 8}", "'model_type'", "missing");
    assertRejected("{\"model_type\": \"llama\", ", "not valid JSON");
    assertRejected(QWEN25_05B.replace("\"hidden_size\": 896", "\"hidden_size\": \"896\""), "'hidden_size'", "integer");
    assertRejected(QWEN25_05B.replace("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 4"), "not a multiple");
    assertRejected(LLAMA32_1B.replace("\"factor\": 32.0, ", ""), "'rope_scaling.factor'");
    assertRejected(LLAMA32_1B.replace("\"high_freq_factor\": 4.0", "\"high_freq_factor\": 0.5"), "high_freq_factor");
  }

  @Test
  void mistralSlidingWindowIsUsableUpToTheWindow() throws Exception {
    ModelConfig c = ModelConfig.parse(MISTRAL_7B_V03.replace("\"sliding_window\": null", "\"sliding_window\": 4096"), "m.json");
    assertEquals(4096, c.slidingWindow());
    c.checkMaxLength(4096, "--max_length");  // the window has no effect at or below its size
    RewardKitException e = assertThrows(RewardKitException.class, () -> c.checkMaxLength(4097, "--max_length"));
    assertTrue(e.getMessage().contains("sliding_window 4096") && e.getMessage().contains("--max_length 4097"), e.getMessage());
    assertEquals(4096, c.toSequenceClassificationJson("float32").get("sliding_window").intValue());
    ModelConfig full = ModelConfig.parse(MISTRAL_7B_V03, "m.json");
    assertEquals(null, full.slidingWindow());
    full.checkMaxLength(full.maxPositionEmbeddings(), "--max_length");
    assertThrows(RewardKitException.class, () -> full.checkMaxLength(full.maxPositionEmbeddings() + 1, "--max_length"));
  }

  @ParameterizedTest
  @CsvSource({
      "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "hidden_size"})
  void eachRequiredFieldIsNamedWhenMissing(String field) throws Exception {
    ObjectNode n = (ObjectNode) JSON.readTree(QWEN25_05B);
    n.remove(field);
    assertRejected(n.toString(), "'" + field + "'", "missing required field");
  }

  @Test
  void loadNamesTheFile(@TempDir Path dir) throws Exception {
    RewardKitException e = assertThrows(RewardKitException.class, () -> ModelConfig.load(dir));
    assertTrue(e.getMessage().contains("config.json"), e.getMessage());
    Files.writeString(dir.resolve("config.json"), QWEN3_06B);
    assertEquals(ModelFamily.QWEN3, ModelConfig.load(dir).family());
  }

  @Test
  void sequenceClassificationConfigRoundTrips() throws Exception {
    for (String src : new String[] {QWEN25_05B, QWEN3_06B, LLAMA32_1B, MISTRAL_7B_V03}) {
      ModelConfig c = ModelConfig.parse(src, "src.json");
      String out = c.toSequenceClassificationJsonText("float32");
      JsonNode n = JSON.readTree(out);
      assertEquals(c.family().sequenceClassificationArchitecture(), n.get("architectures").get(0).asText());
      assertEquals(1, n.get("architectures").size());
      assertEquals("LABEL_0", n.get("id2label").get("0").asText());
      assertEquals(1, n.get("id2label").size());
      assertEquals(0, n.get("label2id").get("LABEL_0").asInt());
      assertEquals("float32", n.get("torch_dtype").asText());
      assertEquals(c.family().modelType(), n.get("model_type").asText());
      // pad falls back to the (first) eos id
      assertEquals(JSON.readTree(src).get("eos_token_id").isArray() ? 128001 : JSON.readTree(src).get("eos_token_id").asInt(),
          n.get("pad_token_id").asInt());
      assertTrue(n.has("bos_token_id"), "pass-through field kept");
      ModelConfig back = ModelConfig.parse(out, "out.json");
      assertEquals(c.withPadTokenId(back.padTokenId()).withRawJson(null), back.withRawJson(null));
    }
  }

  /** A backend that only answers the load-time shape question, the CUDA backend's way (no GPU needed). */
  private static io.rewardkit.kernels.Backend cudaShapes() {
    return (io.rewardkit.kernels.Backend) java.lang.reflect.Proxy.newProxyInstance(ModelConfigTest.class.getClassLoader(),
        new Class<?>[] {io.rewardkit.kernels.Backend.class}, (proxy, m, a) -> switch (m.getName()) {
          case "attentionShapeProblem" -> io.rewardkit.kernels.cuda.CudaBackend.flashShapeProblem((int) a[0], (int) a[1], (int) a[2]);
          case "device" -> io.rewardkit.kernels.Device.CUDA;
          default -> throw new UnsupportedOperationException(m.getName());
        });
  }


  @ParameterizedTest
  @CsvSource({"8", "16", "24", "32", "40", "64", "80", "96", "112", "128", "160", "192", "256"})
  void everyHeadDimOfTheFlashBucketsLoadsForCuda(int hd) {
    ModelConfig c = ModelConfig.parse(QWEN3_06B.replace("\"head_dim\": 128", "\"head_dim\": " + hd), "qwen3.json");
    c.requireSupportedBy(cudaShapes(), "qwen3.json");
  }

  @Test
  void theProjectsOwnSmallModelsLoadForCuda() throws Exception {
    ModelConfig.parse(io.rewardkit.train.RunSetup.DEFAULT_MODEL_CONFIG, "default").requireSupportedBy(cudaShapes(), "default");
    Path tiny = Path.of("examples/qwen2-tiny-config.json");
    ModelConfig.load(tiny).requireSupportedBy(cudaShapes(), tiny.toString());
  }

  @Test
  void unsupportedHeadDimIsRejectedAtLoadNamingTheField() {
    ModelConfig explicit = ModelConfig.parse(QWEN3_06B.replace("\"head_dim\": 128", "\"head_dim\": 12"), "qwen3.json");
    RewardKitException e = assertThrows(RewardKitException.class, () -> explicit.requireSupportedBy(cudaShapes(), "qwen3.json"));
    assertEquals("qwen3.json: field 'head_dim' (12) is not supported on cuda: the CUDA flash-attention kernels take a"
        + " head_dim that is a multiple of 8 from 8 to 256, got 12", e.getMessage());
    ModelConfig big = ModelConfig.parse(QWEN3_06B.replace("\"head_dim\": 128", "\"head_dim\": 264"), "q.json");
    assertThrows(RewardKitException.class, () -> big.requireSupportedBy(cudaShapes(), "q.json"));
    // Derived head dim: 896 / 14 = 64 is fine; 900 / 18 = 50 names the two fields it comes from.
    ModelConfig derived = ModelConfig.parse(QWEN25_05B.replace("\"hidden_size\": 896", "\"hidden_size\": 700"), "qwen.json");
    RewardKitException d = assertThrows(RewardKitException.class, () -> derived.requireSupportedBy(cudaShapes(), "qwen.json"));
    assertTrue(d.getMessage().startsWith("qwen.json: field 'hidden_size / num_attention_heads' (700 / 14 = 50)"), d.getMessage());
    // The CPU backend takes any even head dim.
    explicit.requireSupportedBy(new io.rewardkit.kernels.CpuBackend(), "qwen3.json");
  }
}
