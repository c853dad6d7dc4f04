package io.rewardkit.model;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.GradCheck;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.lora.LoraAdapters;
import io.rewardkit.model.lora.LoraConfig;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** A whole model with LoRA adapters in F64: adapter and head gradients vs central differences; the base has none. */
class LoraModelGradTest {
  private static final Backend CPU = new CpuBackend();

  @AfterAll
  static void close() { CPU.close(); }

  /** The model of RewardModelGradTest with a frozen base and adapters on every linear, B non-zero (PEFT's zero B would hide dA). */
  static RewardModel withAdapters(ModelFamily family, LoraConfig lc) {
    RewardModel m = RewardModel.randomInit(RewardModelGradTest.tiny(family, 0.3), CPU, DType.F64, 11, "test", false);
    LoraAdapters ad = new LoraAdapters(m.config(), lc, CPU, DType.F64);
    ad.initialize(3);
    SplittableRandom rng = new SplittableRandom(17);
    for (LoraAdapters.Pair p : ad.pairs()) {
      for (long i = 0; i < p.b.numel(); i++) p.b.weight().setDouble(i, 0.3 * (2 * rng.nextDouble() - 1));
    }
    ad.attachTo(m);
    return m;
  }

  /** Qwen2 (q/k/v biases) and Qwen3 (q/k norms, rsLoRA): the linear paths the adapters sit on; llama/mistral share them. */
  @ParameterizedTest
  @EnumSource(value = ModelFamily.class, names = {"QWEN2", "QWEN3"})
  void adapterAndHeadGradientsMatchCentralDifferences(ModelFamily family) {
    LoraConfig lc = new LoraConfig(3, 5, 0, EnumSet.allOf(LinearModule.class), family == ModelFamily.QWEN3);
    try (RewardModel m = withAdapters(family, lc)) {
      LoraAdapters ad = (LoraAdapters) m.linearHook();
      PackedBatch batch = TestBatches.shared(RewardModelGradTest.pairs(3));
      SplittableRandom rng = new SplittableRandom(5);
      double[] g = new double[batch.numReadouts()];
      for (int i = 0; i < g.length; i++) g[i] = 2 * rng.nextDouble() - 1;
      m.zeroGrad();
      ad.zeroGrad();
      m.forward(batch);
      m.backward(Tensor.hostOf(g, g.length));
      for (Parameter p : m.parameters()) {
        if (p == m.scoreHead()) continue;
        assertNull(p.grad(), p.hfName() + " of a frozen base has a gradient");
      }
      List<Parameter> checked = new java.util.ArrayList<>(ad.parameters());
      checked.add(m.scoreHead());
      int k = 0;
      for (Parameter p : checked) {
        // every tensor by a few sampled probes; an A, a B and the head fully, so the test stays fast
        boolean full = p.hfName().contains("layers.0.self_attn.q_proj.lora_A") || p.hfName().contains("layers.1.mlp.down_proj.lora_B")
            || p == m.scoreHead();
        GradCheck.check(family + " " + p.hfName(), p.weight(), Tensor.hostOf(p.grad().toDoubleArray(), p.weight().shape()),
            () -> RewardModelGradTest.loss(m, batch, g), full ? 100 : 3, k++);
      }
    }
  }

  @Test
  void zeroBStartsEqualToTheBaseAndOnlyTargetsAreAdapted() {
    LoraConfig lc = new LoraConfig(4, 8, 0, EnumSet.of(LinearModule.Q_PROJ, LinearModule.DOWN_PROJ), false);
    ModelConfig cfg = RewardModelGradTest.tiny(ModelFamily.QWEN2, 0.3);
    try (RewardModel base = RewardModel.randomInit(cfg, CPU, DType.F64, 11, "test", false);
         RewardModel m = RewardModel.randomInit(cfg, CPU, DType.F64, 11, "test", false)) {
      LoraAdapters ad = new LoraAdapters(cfg, lc, CPU, DType.F64);
      ad.initialize(1);
      ad.attachTo(m);
      assertEquals(2L * cfg.numHiddenLayers(), ad.pairs().size());
      assertNull(ad.pair(0, LinearModule.K_PROJ));
      for (LoraAdapters.Pair p : ad.pairs()) {
        double bound = 1 / Math.sqrt(p.a.weight().dim(1));  // PEFT: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in))
        double maxAbs = 0;
        for (double x : p.a.weight().toDoubleArray()) maxAbs = Math.max(maxAbs, Math.abs(x));
        assertTrue(maxAbs <= bound && maxAbs > 0.8 * bound, "A outside PEFT's init range: " + maxAbs + " vs " + bound);
        for (double x : p.b.weight().toDoubleArray()) assertEquals(0.0, x);
      }
      PackedBatch b = TestBatches.shared(RewardModelGradTest.pairs(4));
      assertArrayEquals(RewardModelGradTest.rewards(base, b), RewardModelGradTest.rewards(m, b), 0.0);
    }
  }
}
