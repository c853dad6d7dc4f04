package io.rewardkit.model;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Whole-model checks in F64: gradients vs central differences, and layout equivalences. */
class RewardModelGradTest {
  private static final Backend CPU = new CpuBackend();

  @AfterAll
  static void close() { CPU.close(); }

  /** 2 layers, hidden 16, 4 q heads, 2 kv heads, head_dim 8, vocab 37; biases / q-k norm per family. */
  static ModelConfig tiny(ModelFamily family, double initRange) {
    boolean qkv = family == ModelFamily.QWEN2 || family == ModelFamily.LLAMA;
    boolean o = family == ModelFamily.LLAMA;  // llama with attention_bias: true covers the o bias
    return new ModelConfig(family, 16, 24, 2, 4, 2, 8, 1e-5, 10000.0,
        family == ModelFamily.LLAMA ? new ModelConfig.RopeScaling(4.0, 1.0, 4.0, 16) : null,
        37, 64, qkv, o, family == ModelFamily.QWEN3, null, initRange, null);
  }

  /** Random non-trivial norm weights and biases too, so their gradients are generic. */
  static RewardModel randomF64(ModelConfig cfg, long seed) {
    RewardModel m = RewardModel.randomInit(cfg, CPU, DType.F64, seed);
    SplittableRandom rng = new SplittableRandom(seed + 1);
    for (Parameter p : m.parameters()) {
      if (p.decay()) continue;
      boolean norm = p.hfName().endsWith("norm.weight");
      for (long i = 0; i < p.numel(); i++) {
        p.weight().setDouble(i, norm ? 1 + 0.3 * (2 * rng.nextDouble() - 1) : 0.2 * (2 * rng.nextDouble() - 1));
      }
    }
    return m;
  }

  static List<TestBatches.Pair> pairs(long seed) {
    return TestBatches.randomPairs(new SplittableRandom(seed), 37, new int[][] {{5, 4, 3}, {3, 2, 5}, {1, 3, 1}});
  }

  static double[] rewards(RewardModel m, PackedBatch b) {
    return CPU.downloadDoubles(m.forward(b));
  }

  static double loss(RewardModel m, PackedBatch b, double[] g) {
    double[] r = rewards(m, b);
    double s = 0;
    for (int i = 0; i < r.length; i++) s += g[i] * r[i];
    return s;
  }

  static double[] gradients(RewardModel m, PackedBatch b, double[] g) {
    m.zeroGrad();
    m.forward(b);
    m.backward(Tensor.hostOf(g, g.length));
    return m.grads().toDoubleArray();
  }

  @ParameterizedTest
  @EnumSource(ModelFamily.class)
  void gradientsMatchCentralDifferences(ModelFamily family) {
    ModelConfig cfg = tiny(family, 0.3);
    try (RewardModel m = randomF64(cfg, 11)) {
      PackedBatch batch = TestBatches.shared(pairs(3));
      SplittableRandom rng = new SplittableRandom(5);
      double[] g = new double[batch.numReadouts()];
      for (int i = 0; i < g.length; i++) g[i] = 2 * rng.nextDouble() - 1;
      double[] analytic = gradients(m, batch, g);

      // One central difference per parameter along a random direction u (restricted to that
      // parameter): (L(w + h·u) − L(w − h·u)) / 2h must equal grad · u. Every element contributes,
      // so a wrong gradient anywhere in the tensor shows, at two forwards per parameter.
      double h = 1e-6;
      double worst = 0;
      String worstAt = "";
      for (Parameter p : m.parameters()) {
        int n = Math.toIntExact(p.numel());
        double[] w0 = p.weight().toDoubleArray();
        double[] u = new double[n];
        double expect = 0;
        for (int i = 0; i < n; i++) {
          u[i] = 2 * rng.nextDouble() - 1;
          expect += analytic[(int) p.offset() + i] * u[i];
        }
        double[] shifted = new double[n];
        for (int i = 0; i < n; i++) shifted[i] = w0[i] + h * u[i];
        CPU.upload(p.weight(), shifted);
        double up = loss(m, batch, g);
        for (int i = 0; i < n; i++) shifted[i] = w0[i] - h * u[i];
        CPU.upload(p.weight(), shifted);
        double down = loss(m, batch, g);
        CPU.upload(p.weight(), w0);
        double numeric = (up - down) / (2 * h);
        assertTrue(Math.abs(numeric) > 1e-4, p.hfName() + ": directional derivative ~0 (" + numeric + "); the check would be vacuous");
        double err = Math.abs(expect - numeric) / Math.max(Math.abs(expect), Math.abs(numeric));
        if (err > worst) {
          worst = err;
          worstAt = p.hfName() + ": analytic " + expect + ", numeric " + numeric;
        }
      }
      assertTrue(worst < 1e-6, family + ": worst relative error " + worst + " at " + worstAt);
    }
  }

  @ParameterizedTest
  @EnumSource(value = ModelFamily.class, names = {"QWEN2", "QWEN3"})
  void sharedPrefixLayoutGivesTheSameRewardsAndGradients(ModelFamily family) {
    ModelConfig cfg = tiny(family, 0.3);
    try (RewardModel m = randomF64(cfg, 21)) {
      List<TestBatches.Pair> ps = pairs(8);
      PackedBatch sep = TestBatches.separate(ps);
      PackedBatch shr = TestBatches.shared(ps);
      assertTrue(shr.numTokens() < sep.numTokens());
      double[] rSep = rewards(m, sep);
      double[] rShr = rewards(m, shr);
      assertEquals(rSep.length, rShr.length);
      for (int i = 0; i < rSep.length; i++) assertEquals(rSep[i], rShr[i], 1e-10, "reward " + i);
      // chosen and rejected differ: the check compares real values
      assertNotEquals(rSep[0], rSep[1], 1e-6);

      double[] g = {0.7, -1.1, 0.4, 0.9, -0.3, 1.3};
      double[] gSep = gradients(m, sep, g);
      double[] gShr = gradients(m, shr, g);
      double norm = 0;
      for (int i = 0; i < gSep.length; i++) {
        assertEquals(gSep[i], gShr[i], 1e-10 * Math.max(1, Math.abs(gSep[i])), "grad element " + i + " " + nameAt(m, i));
        norm += gSep[i] * gSep[i];
      }
      assertTrue(norm > 1e-4, "gradients are not trivially zero");
    }
  }

  private static String nameAt(RewardModel m, long i) {
    for (Parameter p : m.parameters()) if (i >= p.offset() && i < p.offset() + p.numel()) return p.hfName();
    return "(padding)";
  }

  @Test
  void buffersAreReusedAcrossBatchSizesAndScoreMatchesForward() {
    ModelConfig cfg = tiny(ModelFamily.QWEN2, 0.3);
    try (RewardModel m = randomF64(cfg, 31)) {
      PackedBatch small = TestBatches.shared(pairs(4).subList(0, 1));
      PackedBatch big = TestBatches.separate(pairs(5));
      double[] first = rewards(m, small);
      long bytesSmall = m.activationBytes();
      double[] bigR = rewards(m, big);
      long bytesBig = m.activationBytes();
      assertTrue(bytesBig > bytesSmall, "buffers grew for the bigger batch");
      m.reserve(big.numTokens() + 100);
      long reserved = m.activationBytes();
      assertTrue(reserved > bytesBig);
      assertArrayEquals(bigR, rewards(m, big), 0.0);
      assertEquals(reserved, m.activationBytes(), "a batch within the reservation allocates nothing");
      bytesBig = reserved;
      double[] again = rewards(m, small);
      assertArrayEquals(first, again, 0.0, "a smaller batch in bigger buffers gives identical rewards");
      assertEquals(bytesBig, m.activationBytes(), "no reallocation for a smaller batch");

      float[] scored = m.score(big);
      for (int i = 0; i < bigR.length; i++) assertEquals(bigR[i], scored[i], 1e-6 * Math.max(1, Math.abs(bigR[i])));
      // score() keeps a pending backward intact: gradients equal those of a fresh forward/backward
      double[] g = new double[small.numReadouts()];
      java.util.Arrays.fill(g, 1.0);
      m.zeroGrad();
      m.forward(small);
      m.score(big);
      m.backward(Tensor.hostOf(g, g.length));
      double[] afterScore = m.grads().toDoubleArray();
      assertArrayEquals(gradients(m, small, g), afterScore, 0.0);
    }
  }

  @Test
  void gradientsAccumulateAcrossMicroBatchesAndZeroGradClears() {
    ModelConfig cfg = tiny(ModelFamily.QWEN3, 0.3);
    try (RewardModel m = randomF64(cfg, 41)) {
      PackedBatch b = TestBatches.shared(pairs(9));
      double[] g = new double[b.numReadouts()];
      for (int i = 0; i < g.length; i++) g[i] = i - 2.5;
      double[] once = gradients(m, b, g);
      m.forward(b);
      m.backward(Tensor.hostOf(g, g.length));  // no zeroGrad: accumulates
      double[] twice = m.grads().toDoubleArray();
      for (int i = 0; i < once.length; i++) assertEquals(2 * once[i], twice[i], 1e-12 * Math.max(1, Math.abs(once[i])));
      m.zeroGrad();
      for (double x : m.grads().toDoubleArray()) assertEquals(0.0, x);
    }
  }

  @Test
  void float32PathAgreesWithFloat64() {
    ModelConfig cfg = tiny(ModelFamily.QWEN2, 0.1);
    PackedBatch b = TestBatches.shared(pairs(12));
    try (RewardModel m64 = RewardModel.randomInit(cfg, CPU, DType.F64, 3);
         RewardModel m32 = RewardModel.randomInit(cfg, CPU, 3)) {
      assertEquals(DType.F32, m32.dtype());
      double[] r64 = rewards(m64, b);
      float[] r32 = CPU.downloadFloats(m32.forward(b));
      for (int i = 0; i < r64.length; i++) assertEquals(r64[i], r32[i], 1e-4 * Math.max(1, Math.abs(r64[i])));
    }
  }

  @Test
  void badBatchesAreRejected() {
    ModelConfig cfg = tiny(ModelFamily.QWEN2, 0.02);
    try (RewardModel m = RewardModel.randomInit(cfg, CPU, DType.F64, 1)) {
      PackedBatch b = TestBatches.shared(pairs(1));
      int[] toks = b.tokens().clone();
      toks[2] = 37;
      PackedBatch bad = new PackedBatch(toks, b.positions(), b.cuSeqlens(), b.segmentIds(), b.maxSeqlen(), b.readout(),
          b.chosen(), b.rejected(), b.margins(), b.pairIds(), b.datasetIds());
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.forward(bad));
      assertTrue(e.getMessage().contains("token 37"), e.getMessage());
      // a well-formed batch whose 65 positions run past max_position_embeddings 64
      PackedBatch badPos = TestBatches.separate(List.of(new TestBatches.Pair(new int[60], new int[5], new int[2])));
      e = assertThrows(IllegalArgumentException.class, () -> m.forward(badPos));
      assertTrue(e.getMessage().contains("max_position_embeddings"), e.getMessage());
      assertThrows(IllegalStateException.class, () -> {
        try (RewardModel fresh = RewardModel.randomInit(cfg, CPU, DType.F64, 1)) {
          fresh.backward(Tensor.host(DType.F64, 1));
        }
      });
      m.forward(b);
      assertThrows(IllegalArgumentException.class, () -> m.backward(Tensor.host(DType.F64, b.numReadouts() + 1)));
    }
  }

  @Test
  void parameterArenaLayout() {
    ModelConfig cfg = tiny(ModelFamily.QWEN3, 0.02);
    try (RewardModel m = RewardModel.randomInit(cfg, CPU, DType.F64, 1)) {
      List<Parameter> ps = m.parameters();
      assertEquals("model.embed_tokens.weight", ps.get(0).hfName());
      assertEquals("score.weight", ps.get(ps.size() - 1).hfName());
      assertEquals("model.norm.weight", ps.get(ps.size() - 2).hfName());
      // Arena order is by optimizer group: every decay tensor before every no-decay one, no overlaps.
      List<Parameter> byOffset = new ArrayList<>(ps);
      byOffset.sort(java.util.Comparator.comparingLong(Parameter::offset));
      long prevEnd = 0;
      boolean inNoDecay = false;
      List<String> noDecay = new ArrayList<>();
      for (Parameter p : byOffset) {
        assertTrue(p.offset() >= prevEnd, p.hfName() + " overlaps its predecessor");
        assertEquals(p.weight().offset(), p.grad().offset());
        assertArrayEquals(p.weight().shape(), p.grad().shape());
        prevEnd = p.offset() + p.numel();
        assertTrue(!inNoDecay || !p.decay(), p.hfName() + " (decay) lies after a no-decay tensor");
        inNoDecay |= !p.decay();
        if (!p.decay()) noDecay.add(p.hfName());
      }
      assertTrue(inNoDecay);
      assertTrue(prevEnd <= m.weights().numel());
      assertTrue(noDecay.stream().allMatch(n -> n.endsWith("norm.weight") || n.endsWith(".bias")), noDecay.toString());
      assertTrue(noDecay.contains("model.layers.1.self_attn.q_norm.weight"));
      // a write through a view lands in the arena
      ps.get(3).weight().setDouble(0, 42.0);
      assertEquals(42.0, m.weights().getDouble(ps.get(3).offset()));
      // init: norms 1, seeded determinism
      assertEquals(1.0, ps.get(1).weight().getDouble(0));
      try (RewardModel same = RewardModel.randomInit(cfg, CPU, DType.F64, 1);
           RewardModel other = RewardModel.randomInit(cfg, CPU, DType.F64, 2)) {
        assertEquals(same.parameters().get(5).weight().getDouble(7), m.parameters().get(5).weight().getDouble(7));
        assertNotEquals(other.parameters().get(5).weight().getDouble(7), m.parameters().get(5).weight().getDouble(7));
      }
    }
  }

  @Test
  void qwen25HalfBillionParameterCount() {
    ModelConfig cfg = ModelConfig.parse(ModelConfigTest.QWEN25_05B, "qwen.json");
    long n = 0;
    for (ModelParameters.Spec s : ModelParameters.specs(cfg)) n += s.numel();
    // HF's published count (tied embeddings, so no lm_head) plus the 896-wide score head
    assertEquals(494_032_768L + 896, n);
  }
}
