package io.rewardkit.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelShapeTest {

  // Parameter counts Hugging Face reports for the causal-LM checkpoints (model.num_parameters()).
  // Ours has a 1-row score head instead of lm_head, so compare the shared part: layers + final norm + embedding.
  private static long causalLmBody(ModelShape s) {
    return s.nonEmbeddingParameters() - s.hiddenSize() /* score head */ + s.embeddingParameters();
  }

  @Test
  void qwen05bMatchesTheCheckpointParameterCount() {
    // Qwen2.5-0.5B ties lm_head to the embedding: 494,032,768 parameters in total.
    assertEquals(494_032_768L, causalLmBody(ModelShape.QWEN25_05B));
  }

  @Test
  void llama3MatchesTheCheckpointParameterCount() {
    // Llama-3-8B: 8,030,261,248 including an untied lm_head of 128256 x 4096.
    long lmHead = 128_256L * 4096;
    assertEquals(8_030_261_248L - lmHead, causalLmBody(ModelShape.LLAMA3_8B));
  }

  @Test
  void qwen7bMatchesTheCheckpointParameterCount() {
    // Qwen2.5-7B: 7,615,616,512 including an untied lm_head of 152064 x 3584.
    long lmHead = 152_064L * 3584;
    assertEquals(7_615_616_512L - lmHead, causalLmBody(ModelShape.QWEN25_7B));
  }

  @Test
  void registryLookupIsCaseInsensitiveAndTakesALayerOverride() {
    ModelShape s = ModelShape.byName("qwen2.5-1.5b:4L");
    assertEquals(4, s.numLayers());
    assertEquals(1536, s.hiddenSize());
    assertEquals("Qwen2.5-1.5B:4L", s.name());
    assertEquals(128, s.headDim());
    assertEquals(ModelShape.LLAMA3_8B, ModelShape.byName("Llama-3-8B"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelShape.byName("gpt-2"));
    assertTrue(e.getMessage().contains("Qwen2.5-0.5B"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> ModelShape.byName("Qwen2.5-0.5B:x"));
    assertThrows(IllegalArgumentException.class, () -> ModelShape.byName("Qwen2.5-0.5B:0L"));
  }

  @Test
  void hfConfigCarriesTheRealValues() {
    Map<String, Object> c = ModelShape.LLAMA3_8B.toHfConfig();
    assertEquals("llama", c.get("model_type"));
    assertEquals(500_000.0, c.get("rope_theta"));
    assertEquals(8, c.get("num_key_value_heads"));
    assertEquals(14336, c.get("intermediate_size"));
    assertEquals(1, c.get("num_labels"));
    Map<String, Object> q = ModelShape.QWEN25_05B.withLayers(2).toHfConfig();
    assertEquals(2, q.get("num_hidden_layers"));
    assertEquals("qwen2", q.get("model_type"));
  }

  @Test
  void registeredShapesParseAsRewardKitConfigs() {
    for (ModelShape s : ModelShape.all()) {
      io.rewardkit.model.ModelConfig c = BenchModels.modelConfig(s);
      assertEquals(s.hiddenSize(), c.hiddenSize(), s.name());
      assertEquals(s.numKvHeads(), c.numKeyValueHeads(), s.name());
      assertEquals(s.headDim(), c.headDim(), s.name());
      assertEquals(s.attentionBias(), c.qkvBias(), s.name());
      assertEquals(s.ropeTheta(), c.ropeTheta(), s.name());
    }
  }

  @Test
  void aConfigFileIsTheShapeTrainBuildsFromIt() throws Exception {
    java.nio.file.Path file = java.nio.file.Path.of("examples/qwen2-tiny-config.json");
    ModelShape s = ModelShape.byName(file.toString());
    io.rewardkit.model.ModelConfig fromShape = BenchModels.modelConfig(s);
    io.rewardkit.model.ModelConfig trainReads = io.rewardkit.model.ModelConfig.load(file);
    assertEquals(trainReads.hiddenSize(), fromShape.hiddenSize());
    assertEquals(trainReads.numHiddenLayers(), fromShape.numHiddenLayers());
    assertEquals(trainReads.intermediateSize(), fromShape.intermediateSize());
    assertEquals(trainReads.numKeyValueHeads(), fromShape.numKeyValueHeads());
    assertEquals(trainReads.vocabSize(), fromShape.vocabSize());
    assertEquals(trainReads.qkvBias(), fromShape.qkvBias());
    assertEquals(trainReads.ropeTheta(), fromShape.ropeTheta());
    assertEquals(trainReads.rmsNormEps(), fromShape.rmsNormEps());
    // README: "a random-initialised 19.8M-parameter Qwen2-style model"
    assertEquals(19.8e6, s.totalParameters(), 0.05e6);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelShape.byName("/nonexistent/config.json"));
    assertTrue(e.getMessage().contains("/nonexistent/config.json"), e.getMessage());
  }
}
