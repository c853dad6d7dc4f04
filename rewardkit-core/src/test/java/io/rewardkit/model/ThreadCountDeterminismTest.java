package io.rewardkit.model;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.kernels.cpu.CpuThreads;
import io.rewardkit.kernels.cpu.Gemm;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A fixed thread count gives bit-identical rewards and gradients run after run, at a width and batch whose GEMMs
 * are striped over the threads (the tiny Qwen2 shape's hidden 128 / intermediate 352, ~1000 tokens), and the
 * rewards (row-striped linears) are the same bits at 1 and 2 threads.
 */
class ThreadCountDeterminismTest {
  private static final Backend CPU = new CpuBackend();

  @AfterAll
  static void close() { CPU.close(); }

  @Test
  void sameThreadCountSameBits() {
    ModelConfig cfg = new ModelConfig(ModelFamily.QWEN2, 128, 352, 2, 4, 2, 32, 1e-6, 1e6, null, 500, 4096, true, false,
        false, null, 0.02, null);
    PackedBatch batch = TestBatches.separate(TestBatches.randomPairs(new SplittableRandom(9), 500,
        new int[][] {{120, 90, 70}, {200, 33, 61}, {17, 150, 149}, {64, 64, 5}}));
    int before = CpuThreads.get_cpu_threads();
    try {
      CpuThreads.set(2);
      assertEquals(2, Gemm.sgemm_stripes(batch.numTokens(), 352, 128, 2, false), "the MLP GEMMs are striped");
      float[][] a = step(CPU, cfg, batch), b = step(CPU, cfg, batch);
      assertArrayEquals(a[0], b[0], "rewards, 2 threads, run 2");
      int nonZero = 0;
      for (int i = 0; i < a[1].length; i++) {
        assertEquals(Float.floatToRawIntBits(a[1][i]), Float.floatToRawIntBits(b[1][i]), "gradient element " + i + ", 2 threads, run 2");
        if (a[1][i] != 0) nonZero++;
      }
      assertTrue(nonZero > a[1].length / 2, nonZero + " of " + a[1].length + " gradients non-zero");
      CpuThreads.set(1);
      float[][] one = step(CPU, cfg, batch);
      assertArrayEquals(one[0], a[0], "rewards at 1 thread vs 2");
    } finally {
      CpuThreads.set(before);
    }
  }

  /** A fresh model from a fixed seed: one forward and backward; returns the rewards and the gradients. */
  static float[][] step(Backend be, ModelConfig cfg, PackedBatch batch) {
    try (RewardModel m = RewardModel.randomInit(cfg, be, DType.F32, 21)) {
      m.zeroGrad();
      float[] r = be.downloadFloats(m.forward(batch));
      SplittableRandom rng = new SplittableRandom(4);
      float[] g = new float[r.length];
      for (int i = 0; i < g.length; i++) g[i] = (float) (2 * rng.nextDouble() - 1);
      m.backward(Tensor.hostOf(g, g.length));
      return new float[][] {r, m.grads().toFloatArray()};
    }
  }
}
