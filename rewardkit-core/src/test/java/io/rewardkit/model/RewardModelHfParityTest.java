package io.rewardkit.model;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.DType;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Parity with Hugging Face transformers: tiny random {@code *ForSequenceClassification}
 * checkpoints written by HF {@code save_pretrained} (transformers 5.18, see
 * {@code resources/io/rewardkit/model/hf/make_fixtures.py}), with the rewards HF computed for them.
 * Covers HF's own config.json spelling (rope_parameters, layer_types, dtype), qwen2 biases, qwen3
 * q/k norms and a sharded index, llama3 rope scaling with attention biases, and mistral.
 */
class RewardModelHfParityTest {
  private static final Backend CPU = new CpuBackend();

  @TempDir Path tmp;

  @AfterAll
  static void close() { CPU.close(); }

  private static Path fixtures() throws Exception {
    return Path.of(RewardModelHfParityTest.class.getResource("hf/expected.json").toURI()).getParent();
  }

  /** The fixture's sequences, packed separately, one readout at each end. */
  private static PackedBatch batch(JsonNode seqs) {
    return TestBatches.sequences(seqs);
  }

  @ParameterizedTest
  @ValueSource(strings = {"qwen2", "qwen3", "llama", "mistral"})
  void rewardsMatchTransformers(String family) throws Exception {
    Path dir = fixtures();
    JsonNode expected = new ObjectMapper().readTree(dir.resolve("expected.json").toFile());
    PackedBatch b = batch(expected.get("seqs"));
    JsonNode want = expected.get("rewards").get(family);
    try (RewardModel m64 = RewardModel.fromPretrained(dir.resolve(family), CPU, DType.F64, 0);
         RewardModel m32 = RewardModel.fromPretrained(dir.resolve(family), CPU)) {
      double[] r64 = CPU.downloadDoubles(m64.forward(b));
      float[] r32 = m32.score(b);
      for (int i = 0; i < r64.length; i++) {
        double w = want.get(i).asDouble();
        // HF keeps inv_freq rounded to float32 even in a float64 forward (angle error ~ pos · 6e-8),
        // hence not 1e-12; with a float64 inv_freq patched into HF the llama case agrees to 3e-8.
        assertEquals(w, r64[i], 5e-6, family + " reward " + i + " (F64)");
        assertEquals(w, r32[i], 1e-5, family + " reward " + i + " (F32)");
      }
      // and what RewardKit writes back reloads to the same rewards
      m32.saveHf(tmp.resolve(family));
      try (RewardModel again = RewardModel.fromPretrained(tmp.resolve(family), CPU)) {
        assertArrayEquals(r32, again.score(b));
      }
    }
  }
}
