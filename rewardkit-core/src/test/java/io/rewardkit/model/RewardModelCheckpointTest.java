package io.rewardkit.model;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.DType;
import io.rewardkit.model.safetensors.SafetensorsCheckpoint;
import io.rewardkit.model.safetensors.SafetensorsFile;
import io.rewardkit.model.safetensors.SafetensorsWriter;
import io.rewardkit.model.safetensors.SafetensorsWriter.TensorSpec;
import io.rewardkit.model.safetensors.StDType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Saving and loading HF checkpoints: sequence-classification round trips and causal-LM starts. */
class RewardModelCheckpointTest {
  private static final Backend CPU = new CpuBackend();
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @AfterAll
  static void close() { CPU.close(); }

  /** A qwen2-shaped tiny config that came from a config.json (so pass-through fields exist). */
  static ModelConfig tinyQwen2() {
    String json = """
        {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 16, "intermediate_size": 24,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 37,
         "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "hidden_act": "silu",
         "bos_token_id": 1, "eos_token_id": 2, "tie_word_embeddings": true, "use_sliding_window": false,
         "initializer_range": 0.2}
        """;
    return ModelConfig.parse(json, "tiny.json");
  }

  private static PackedBatch batch() {
    return TestBatches.shared(TestBatches.randomPairs(new SplittableRandom(1), 37, new int[][] {{4, 3, 2}, {2, 2, 3}}));
  }

  @Test
  void sequenceClassificationRoundTripIsExactInF32() throws Exception {
    Path dir = tmp.resolve("rm");
    try (RewardModel m = RewardModel.randomInit(tinyQwen2(), CPU, 7)) {
      float[] before = m.score(batch());
      m.saveHf(dir);
      JsonNode cfg = JSON.readTree(dir.resolve("config.json").toFile());
      assertEquals("Qwen2ForSequenceClassification", cfg.get("architectures").get(0).asText());
      assertEquals("float32", cfg.get("torch_dtype").asText());
      assertEquals(2, cfg.get("pad_token_id").asInt());
      try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(dir)) {
        assertEquals(m.parameters().size(), ck.names().size());
        assertArrayEquals(new long[] {1, 16}, ck.entry("score.weight").shape());
        assertArrayEquals(new long[] {24, 16}, ck.entry("model.layers.1.mlp.gate_proj.weight").shape());
        assertEquals(StDType.F32, ck.entry("model.layers.0.self_attn.q_proj.bias").dtype());
      }
      try (RewardModel back = RewardModel.fromPretrained(dir, CPU)) {
        assertArrayEquals(m.weights().toFloatArray(), back.weights().toFloatArray());
        assertArrayEquals(before, back.score(batch()));
      }
      try (RewardModel back64 = RewardModel.fromPretrained(dir, CPU, DType.F64, 0)) {
        assertEquals(DType.F64, back64.dtype());
        assertArrayEquals(m.weights().toFloatArray(), back64.weights().toFloatArray());
        float[] r64 = back64.score(batch());
        for (int i = 0; i < before.length; i++) assertEquals(before[i], r64[i], 1e-4 * Math.max(1, Math.abs(before[i])));
      }
    }
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(List.of(dir), s.toList(), "no temporary directories left beside the checkpoint");
    }
  }

  @Test
  void bf16AndShardedSaves() throws Exception {
    try (RewardModel m = RewardModel.randomInit(tinyQwen2(), CPU, 8)) {
      Path bf = tmp.resolve("bf16");
      m.saveHf(bf, StDType.BF16, RewardModel.DEFAULT_SHARD_BYTES);
      assertEquals("bfloat16", JSON.readTree(bf.resolve("config.json").toFile()).get("torch_dtype").asText());
      try (RewardModel back = RewardModel.fromPretrained(bf, CPU)) {
        float[] w = m.weights().toFloatArray(), b = back.weights().toFloatArray();
        for (int i = 0; i < w.length; i++) {
          assertEquals(Float.intBitsToFloat((SafetensorsWriter.floatToBf16(w[i]) & 0xffff) << 16), b[i]);
        }
      }
      Path sh = tmp.resolve("sharded");
      m.saveHf(sh, StDType.F32, 4000);
      assertTrue(Files.exists(sh.resolve(SafetensorsCheckpoint.INDEX)));
      assertFalse(Files.exists(sh.resolve(SafetensorsCheckpoint.SINGLE)));
      try (Stream<Path> s = Files.list(sh)) {
        assertTrue(s.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).count() > 2);
      }
      try (RewardModel back = RewardModel.fromPretrained(sh, CPU)) {
        assertArrayEquals(m.weights().toFloatArray(), back.weights().toFloatArray());
      }
      // saving over an existing checkpoint replaces it whole
      m.saveHf(sh);
      assertTrue(Files.exists(sh.resolve(SafetensorsCheckpoint.SINGLE)));
      assertFalse(Files.exists(sh.resolve(SafetensorsCheckpoint.INDEX)), "stale index from the old checkpoint removed");
    }
  }

  /** Rewrites the saved checkpoint in {@code from} as a causal LM (lm_head, no score) into {@code to}. */
  private static void asCausalLm(Path from, Path to, Predicate<String> keep, List<TensorSpec> extra) throws Exception {
    List<TensorSpec> specs = new ArrayList<>();
    SafetensorsFile f = SafetensorsFile.open(from.resolve(SafetensorsCheckpoint.SINGLE));
    for (var e : f.entries().values()) {
      if (e.name().equals("score.weight") || !keep.test(e.name())) continue;
      float[] v = f.readFloats(e.name());
      specs.add(new TensorSpec(e.name(), StDType.BF16, e.shape(), (off, dst, n) -> System.arraycopy(v, (int) off, dst, 0, n)));
    }
    float[] head = new float[37 * 16];
    specs.add(new TensorSpec("lm_head.weight", StDType.F32, new long[] {37, 16}, (off, dst, n) -> System.arraycopy(head, (int) off, dst, 0, n)));
    specs.addAll(extra);
    SafetensorsCheckpoint.write(to, specs, 1L << 30);
    f.close();
    ObjectNode cfg = (ObjectNode) JSON.readTree(from.resolve("config.json").toFile());
    cfg.putArray("architectures").add("Qwen2ForCausalLM");
    cfg.remove("id2label");
    cfg.remove("label2id");
    Files.writeString(to.resolve("config.json"), cfg.toString());
  }

  @Test
  void causalLmCheckpointGetsAFreshSeededScoreHead() throws Exception {
    Path rm = tmp.resolve("rm");
    Path lm = tmp.resolve("lm");
    try (RewardModel m = RewardModel.randomInit(tinyQwen2(), CPU, 9)) {
      m.saveHf(rm, StDType.BF16, RewardModel.DEFAULT_SHARD_BYTES);
    }
    asCausalLm(rm, lm, n -> true, List.of());
    try (RewardModel a = RewardModel.fromPretrained(lm, CPU, DType.F32, 5);
         RewardModel b = RewardModel.fromPretrained(lm, CPU, DType.F32, 5);
         RewardModel c = RewardModel.fromPretrained(lm, CPU, DType.F32, 6);
         RewardModel orig = RewardModel.fromPretrained(rm, CPU)) {
      Parameter score = a.parameters().get(a.parameters().size() - 1);
      float[] s = score.weight().toFloatArray();
      double ss = 0;
      for (float x : s) ss += x * x;
      double std = Math.sqrt(ss / s.length);
      assertEquals(1 / Math.sqrt(17), std, 0.5 / Math.sqrt(17), "score init std ~ 1/sqrt(hidden+1)");
      assertArrayEquals(s, b.parameters().get(b.parameters().size() - 1).weight().toFloatArray(), "seeded");
      assertFalse(java.util.Arrays.equals(s, c.parameters().get(c.parameters().size() - 1).weight().toFloatArray()));
      for (int i = 0; i < a.parameters().size() - 1; i++) {
        assertArrayEquals(orig.parameters().get(i).weight().toFloatArray(), a.parameters().get(i).weight().toFloatArray(),
            a.parameters().get(i).hfName());
      }
      assertNotEquals(0f, a.score(batch())[0]);
    }
  }

  @Test
  void unknownMissingAndMisshapenTensorsAreNamed() throws Exception {
    Path rm = tmp.resolve("rm");
    try (RewardModel m = RewardModel.randomInit(tinyQwen2(), CPU, 10)) {
      m.saveHf(rm);
    }
    Path unknown = tmp.resolve("unknown");
    asCausalLm(rm, unknown, n -> true, List.of(new TensorSpec("model.layers.0.mlp.extra.weight", StDType.F32,
        new long[] {2}, (off, dst, n) -> {})));
    assertMessage(() -> RewardModel.fromPretrained(unknown, CPU), "model.layers.0.mlp.extra.weight", "does not have");

    Path missing = tmp.resolve("missing");
    asCausalLm(rm, missing, n -> !n.equals("model.layers.1.self_attn.k_proj.bias"), List.of());
    assertMessage(() -> RewardModel.fromPretrained(missing, CPU), "model.layers.1.self_attn.k_proj.bias", "lacks");

    Path shape = tmp.resolve("shape");
    asCausalLm(rm, shape, n -> !n.equals("model.norm.weight"), List.of(new TensorSpec("model.norm.weight", StDType.F32,
        new long[] {17}, (off, dst, n) -> {})));
    assertMessage(() -> RewardModel.fromPretrained(shape, CPU), "model.norm.weight", "[17]", "[16]");

    // a sequence-classification config without its score head
    Path noScore = tmp.resolve("noscore");
    asCausalLm(rm, noScore, n -> true, List.of());
    ObjectNode cfg = (ObjectNode) JSON.readTree(noScore.resolve("config.json").toFile());
    cfg.putArray("architectures").add("Qwen2ForSequenceClassification");
    Files.writeString(noScore.resolve("config.json"), cfg.toString());
    assertMessage(() -> RewardModel.fromPretrained(noScore, CPU), "score.weight", "missing");

    Path empty = tmp.resolve("empty");
    Files.createDirectories(empty);
    assertMessage(() -> RewardModel.fromPretrained(empty, CPU), "config.json");
  }

  private static void assertMessage(Runnable r, String... fragments) {
    RewardKitException e = assertThrows(RewardKitException.class, r::run);
    for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' not in: " + e.getMessage());
  }
}
