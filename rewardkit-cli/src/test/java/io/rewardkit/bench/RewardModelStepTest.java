package io.rewardkit.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.model.ModelConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

class RewardModelStepTest {
  private static final ModelShape TINY = new ModelShape("tiny", "qwen2", 64, 2, 4, 2, 96, 500, true, 10000.0, 1e-6, 4096, false);

  @Test
  void registeredShapesParseAsRewardKitConfigs() {
    for (ModelShape s : ModelShape.all()) {
      ModelConfig c = RewardModelStep.modelConfig(s);
      assertEquals(s.hiddenSize(), c.hiddenSize(), s.name());
      assertEquals(s.numKvHeads(), c.numKeyValueHeads(), s.name());
      assertEquals(s.headDim(), c.headDim(), s.name());
      assertEquals(s.attentionBias(), c.qkvBias(), s.name());
      assertEquals(s.ropeTheta(), c.ropeTheta(), s.name());
    }
  }

  @Test
  void aStepTrainsTheModel() {
    try (CpuBackend cpu = new CpuBackend()) {
      RewardModelStep step = (RewardModelStep) RewardModelStep.create(TINY, cpu, 3);
      List<PairTokens> pairs = SyntheticPairs.generate(LengthProfile.HH_RLHF, 6, TINY.vocabSize(), 256, 1);
      List<PackedBatch> batches = PairPacker.pack(pairs, 600, true, 0, 1);
      float[] before = cpu.downloadFloats(step.model().weights());
      double loss = step.run(batches);
      // Rewards start near 0 (init std 0.02), so the pairwise loss starts near ln 2.
      assertEquals(Math.log(2), loss, 0.05);
      float[] after = cpu.downloadFloats(step.model().weights());
      int changed = 0;
      for (int i = 0; i < before.length; i++) if (before[i] != after[i]) changed++;
      assertTrue(changed > before.length / 2, "the update touched " + changed + " of " + before.length + " weights");
      double second = step.run(batches);
      assertNotEquals(loss, second, "the second step sees updated weights");
      step.close();
    }
  }
}
