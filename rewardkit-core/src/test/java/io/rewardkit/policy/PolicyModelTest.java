package io.rewardkit.policy;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.GradCheck;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.ModelConfig;
import io.rewardkit.model.safetensors.SafetensorsCheckpoint;
import io.rewardkit.model.TrainableModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyModelTest {
  private final Backend cpu = new CpuBackend();

  static final String TIED_CONFIG = """
      {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 23, "hidden_size": 8,
       "intermediate_size": 12, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
       "max_position_embeddings": 32, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "initializer_range": 0.5,
       "tie_word_embeddings": true}
      """;

  static final List<int[][]> PAIRS = List.of(
      new int[][] {{1, 2, 3}, {4, 5, 22}, {6, 22}},
      new int[][] {{7}, {8, 9, 10, 22}, {22}});

  @Test
  void savedCausalLmHasTransformersNamesAndReloadsToTheSameLogps(@TempDir Path tmp) throws Exception {
    Path out = tmp.resolve("saved");
    PackedBatch b = PolicyBatches.pack(PolicyFidelityTest.pairs(), false);
    PolicyTargets t = PolicyTargets.of(b, PolicyBatches.promptLengths(PolicyFidelityTest.pairs()));
    double[] before;
    try (PolicyModel m = PolicyModel.fromPretrained(TrlGolden.DIR.resolve("policy"), cpu, DType.F32)) {
      before = m.forward(b, t).response();
      m.saveHf(out);
    }
    JsonNode cfg = new ObjectMapper().readTree(out.resolve("config.json").toFile());
    assertEquals("Qwen2ForCausalLM", cfg.get("architectures").get(0).asText());
    assertFalse(cfg.get("tie_word_embeddings").asBoolean());
    assertFalse(cfg.has("id2label"), "a causal LM has no label mapping");
    try (SafetensorsCheckpoint saved = SafetensorsCheckpoint.open(out);
         SafetensorsCheckpoint hf = SafetensorsCheckpoint.open(TrlGolden.DIR.resolve("policy"))) {
      assertEquals(new TreeSet<>(hf.names()), new TreeSet<>(saved.names()), "tensor names as transformers saved them");
    }
    try (PolicyModel m = PolicyModel.fromPretrained(out, cpu, DType.F32)) {
      assertArrayEquals(before, m.forward(b, t).response(), 0.0);
    }
  }

  @Test
  void tiedHeadGradientCollectsBothUsesOfTheEmbedding(@TempDir Path tmp) throws Exception {
    ModelConfig cfg = ModelConfig.parse(TIED_CONFIG, "tied test config");
    assertTrue(cfg.tieWordEmbeddings());
    for (boolean shared : new boolean[] {false, true}) {
      try (PolicyModel m = PolicyModel.randomInit(cfg, cpu, DType.F64, 5)) {
        assertTrue(m.tied());
        Set<String> names = new TreeSet<>();
        for (TrainableModel.Param p : m.params()) names.add(p.name());
        assertFalse(names.contains("lm_head.weight") || names.contains("score.weight"), names.toString());
        PackedBatch b = PolicyBatches.pack(PAIRS, shared);
        PolicyTargets t = PolicyTargets.of(b, PolicyBatches.promptLengths(PAIRS));
        SplittableRandom rng = new SplittableRandom(3);
        double[] g = new double[t.numResponses()], gp = new double[t.numResponses()];
        for (int i = 0; i < g.length; i++) { g[i] = rng.nextDouble() - 0.5; gp[i] = rng.nextDouble() - 0.5; }
        // L = Σ g · response sums + Σ gp · prompt sums
        m.zeroGrad();
        m.forward(b, t);
        m.backward(g, gp);
        Tensor embed = m.lmHeadWeight(), grad = m.lmHeadGrad();
        GradCheck.check("tied embed/lm_head, shared_prefix=" + shared, embed, grad, () -> {
          PolicyHead.Logps lp = m.forward(b, t);
          double s = 0;
          for (int i = 0; i < g.length; i++) s += g[i] * lp.response()[i] + gp[i] * lp.prompt()[i];
          return s;
        }, 60, 7);
        Path out = tmp.resolve("tied-" + shared);
        m.saveHf(out);
        try (SafetensorsCheckpoint saved = SafetensorsCheckpoint.open(out)) {
          assertFalse(saved.has("lm_head.weight"), "a tied head is not written twice");
        }
        assertTrue(Files.readString(out.resolve("config.json")).contains("\"tie_word_embeddings\" : true"));
      }
    }
  }

  @Test
  void untiedCheckpointWithoutLmHeadIsRefused(@TempDir Path tmp) throws Exception {
    // The golden reward-free decoder saved without lm_head: copy config, drop the tensor.
    ModelConfig cfg = ModelConfig.parse(TIED_CONFIG.replace("\"tie_word_embeddings\": true", "\"tie_word_embeddings\": false"), "c");
    Path dir = tmp.resolve("m");
    try (PolicyModel m = PolicyModel.randomInit(cfg, cpu, DType.F32, 1)) {
      m.decoder().saveHf(dir);  // a reward-model save: no lm_head.weight
    }
    RewardKitException e = assertThrows(RewardKitException.class, () -> PolicyModel.fromPretrained(dir, cpu, DType.F32));
    assertTrue(e.getMessage().contains("lacks tensor 'lm_head.weight'"), e.getMessage());
  }
}
