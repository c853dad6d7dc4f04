package io.rewardkit.model;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * --gradient_checkpointing recomputes each layer from its saved input in backward: on CPU (fp32, the
 * training dtype) the rewards and every parameter gradient are bit-identical to the run that keeps all
 * activations, over two accumulated micro-batches in both layouts, and the activations shrink.
 */
class GradientCheckpointingTest {
  private static final Backend CPU = new CpuBackend();

  @AfterAll
  static void close() { CPU.close(); }

  @ParameterizedTest
  @EnumSource(ModelFamily.class)
  void gradientsAndRewardsAreBitIdentical(ModelFamily family) {
    ModelConfig t = RewardModelGradTest.tiny(family, 0.3);
    ModelConfig cfg = new ModelConfig(t.family(), t.hiddenSize(), t.intermediateSize(), 3, t.numAttentionHeads(),
        t.numKeyValueHeads(), t.headDim(), t.rmsNormEps(), t.ropeTheta(), t.ropeScaling(), t.vocabSize(),
        t.maxPositionEmbeddings(), t.qkvBias(), t.oBias(), t.qkNorm(), null, t.initializerRange(), null);
    PackedBatch sep = TestBatches.separate(RewardModelGradTest.pairs(3));
    PackedBatch shared = TestBatches.shared(RewardModelGradTest.pairs(4));
    try (RewardModel plain = RewardModel.randomInit(cfg, CPU, DType.F32, 11);
         RewardModel ckpt = RewardModel.randomInit(cfg, CPU, DType.F32, 11)) {
      ckpt.setGradientCheckpointing(true);
      assertTrue(ckpt.gradientCheckpointing());
      float[][] a = step(plain, sep, shared), b = step(ckpt, sep, shared);
      assertArrayEquals(a[0], b[0], "rewards, separate layout");
      assertArrayEquals(a[1], b[1], "rewards, shared-prefix layout");
      float[] ga = a[2], gb = b[2];
      int nonZero = 0;
      for (int i = 0; i < ga.length; i++) {
        assertEquals(Float.floatToRawIntBits(ga[i]), Float.floatToRawIntBits(gb[i]), "gradient element " + i);
        if (ga[i] != 0) nonZero++;
      }
      assertTrue(nonZero > ga.length / 2, "gradients are generic: " + nonZero + " of " + ga.length + " non-zero");
      assertTrue(ckpt.activationBytes() < plain.activationBytes(), ckpt.activationBytes() + " vs " + plain.activationBytes());
      // inference in between does not disturb either model's pending state
      assertArrayEquals(plain.score(sep), ckpt.score(sep));
    }
  }

  /** zeroGrad, two accumulated micro-batches; returns the rewards of each and the gradients. */
  private static float[][] step(RewardModel m, PackedBatch first, PackedBatch second) {
    SplittableRandom rng = new SplittableRandom(5);
    m.zeroGrad();
    float[] r1 = CPU.downloadFloats(m.forward(first));
    m.backward(Tensor.hostOf(upstream(rng, r1.length), r1.length));
    float[] r2 = CPU.downloadFloats(m.forward(second));
    m.backward(Tensor.hostOf(upstream(rng, r2.length), r2.length));
    return new float[][] {r1, r2, m.grads().toFloatArray()};
  }

  private static float[] upstream(SplittableRandom rng, int n) {
    float[] g = new float[n];
    for (int i = 0; i < n; i++) g[i] = (float) (2 * rng.nextDouble() - 1);
    return g;
  }
}
