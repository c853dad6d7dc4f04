package io.rewardkit.model;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Nf4Weight;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.lora.LoraAdapters;
import io.rewardkit.model.lora.LoraConfig;
import io.rewardkit.model.lora.LoraMerge;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * QLoRA's model: a base loaded with its decoder linears in NF4 computes, forward and backward, exactly what
 * LoRA computes on a dense base whose linears were replaced by their NF4 dequantisation (the same GEMMs on
 * the same values, so bit for bit), with and without gradient checkpointing.
 */
class QLoraModelTest {
  private static final Backend CPU = new CpuBackend();

  @AfterAll
  static void close() { CPU.close(); }

  static Path base() throws Exception {
    return Path.of(QLoraModelTest.class.getResource("/peft/base/config.json").toURI()).getParent();
  }

  /** Adapters on every linear with a non-zero B (PEFT's zero B would hide the A gradients), the same for every model. */
  static LoraAdapters adapters(RewardModel m) {
    LoraConfig lc = new LoraConfig(3, 6, 0, EnumSet.allOf(LinearModule.class), false);
    LoraAdapters ad = new LoraAdapters(m.config(), lc, CPU, m.dtype());
    ad.initialize(5);
    SplittableRandom rng = new SplittableRandom(9);
    for (LoraAdapters.Pair p : ad.pairs()) {
      float[] b = new float[Math.toIntExact(p.b.numel())];
      for (int i = 0; i < b.length; i++) b[i] = (float) (0.3 * (2 * rng.nextDouble() - 1));
      CPU.upload(p.b.weight(), b);
    }
    ad.attachTo(m);
    return ad;
  }

  /** A dense frozen base whose decoder linears hold the dequantisation of {@code q}'s NF4 weights. */
  static RewardModel dequantisedTwin(RewardModel q) throws Exception {
    RewardModel d = RewardModel.fromPretrained(base(), CPU, DType.F32, 0L, false);
    int replaced = 0;
    for (Parameter p : d.parameters()) {
      LinearModule m = ModelParameters.linearOf(p.hfName());
      if (m == null) continue;
      CPU.nf4Dequantize(p.weight(), q.nf4Weight(ModelParameters.layerOf(p.hfName()), m));
      replaced++;
    }
    assertEquals(7 * d.config().numHiddenLayers(), replaced);
    return d;
  }

  @Test
  void everyDecoderLinearIsNf4AndTheRestStaysDense() throws Exception {
    try (RewardModel q = RewardModel.fromPretrained4bit(base(), CPU, DType.F32, 0L);
         RewardModel dense = RewardModel.fromPretrained(base(), CPU, DType.F32, 0L, false)) {
      assertTrue(q.hasNf4Base());
      for (int l = 0; l < q.config().numHiddenLayers(); l++) {
        for (LinearModule m : LinearModule.values()) assertNotNull(q.nf4Weight(l, m), m.path(l));
      }
      // embeddings, norms, biases and the score head: dense and equal to the plain load
      assertEquals(dense.parameters().size() - 7 * q.config().numHiddenLayers(), q.parameters().size());
      for (Parameter p : q.parameters()) {
        Parameter twin = dense.parameters().stream().filter(x -> x.hfName().equals(p.hfName())).findFirst().orElseThrow();
        assertArrayEquals(twin.weight().toFloatArray(), p.weight().toFloatArray(), p.hfName());
      }
      assertEquals(dense.numParameters(), q.numParameters(), "the NF4 linears are counted");
      // the NF4 copy is what quantising the dense weight gives
      Parameter w = dense.parameters().stream().filter(x -> x.hfName().equals("model.layers.1.mlp.down_proj.weight")).findFirst().orElseThrow();
      try (Nf4Weight ref = Nf4Weight.quantize(CPU, w.weight())) {
        assertArrayEquals(ref.packedCodes(CPU), q.nf4Weight(1, LinearModule.DOWN_PROJ).packedCodes(CPU));
      }
      assertThrows(IllegalStateException.class, () -> q.saveHf(Path.of("unused")));
    }
  }

  @Test
  void forwardAndAdapterGradientsEqualLoraOnTheDequantisedBase() throws Exception {
    for (boolean checkpointing : new boolean[] {false, true}) {
      try (RewardModel q = RewardModel.fromPretrained4bit(base(), CPU, DType.F32, 0L); RewardModel d = dequantisedTwin(q)) {
        LoraAdapters aq = adapters(q), ad = adapters(d);
        q.setGradientCheckpointing(checkpointing);
        PackedBatch batch = TestBatches.shared(RewardModelGradTest.pairs(4));
        assertArrayEquals(d.score(batch), q.score(batch), "inference rewards");
        float[] g = new float[batch.numReadouts()];
        SplittableRandom rng = new SplittableRandom(3);
        for (int i = 0; i < g.length; i++) g[i] = (float) (2 * rng.nextDouble() - 1);
        for (RewardModel m : new RewardModel[] {q, d}) {
          m.zeroGrad();
          ((LoraAdapters) m.linearHook()).zeroGrad();
        }
        float[] rq = q.forward(batch).toFloatArray(), rd = d.forward(batch).toFloatArray();
        assertArrayEquals(rd, rq, "training rewards");
        try (Tensor dq = CPU.allocate(DType.F32, g.length); Tensor dd = CPU.allocate(DType.F32, g.length)) {
          CPU.upload(dq, g);
          CPU.upload(dd, g);
          q.backward(dq);
          d.backward(dd);
        }
        float[] gq = aq.grads().toFloatArray(), gd = ad.grads().toFloatArray();
        assertArrayEquals(gd, gq, "adapter and head gradients, checkpointing " + checkpointing);
        double norm = 0;
        for (float x : gq) norm += x * x;
        assertTrue(norm > 0, "gradients are not all zero");
        // the merge refuses a 4-bit base: its quantisation error would be baked into the weights
        assertThrows(IllegalStateException.class, () -> LoraMerge.merge(q, aq));
      }
    }
  }
}
