package io.rewardkit.model;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.CudaSupport;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.safetensors.SafetensorsFile;
import io.rewardkit.model.safetensors.StDType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * End-to-end fidelity with Hugging Face transformers: rewards, Bradley-Terry ranking loss and every
 * named parameter gradient of tiny random qwen2 / llama (llama3 rope scaling, attention biases) /
 * qwen3 (head_dim != hidden/heads, q/k norms) {@code *ForSequenceClassification} checkpoints, against
 * goldens computed by HF's own forward and torch autograd in fp32 with eager attention
 * ({@code tools/hf_fidelity.py}; command, versions and seed in {@code resources/fidelity/README.md}).
 * Both packings of the same pairs (separate sequences, shared prefix) must reproduce HF.
 */
class HfFidelityTest {
  private static final String[] FAMILIES = {"qwen2", "llama", "qwen3"};

  // F32 tolerances (CPU backend vs HF fp32). Measured worst cases are in the README (~1e-6 relative).
  /** Rewards: |r − r_hf| ≤ REWARD_RTOL·|r_hf| + REWARD_ATOL. */
  static final double REWARD_RTOL = 1e-4;
  /**
   * Rewards here are O(1) (|r| ≥ 0.06 in the goldens); a reward's fp32 rounding error is set by
   * the magnitudes summed on the way to it (|score|·|h| ~ 1), not by the reward itself, so a reward
   * that happens to be near 0 needs an absolute floor: 1e-5 is ~100 fp32 ulps of 1.
   */
  static final double REWARD_ATOL = 1e-5;
  /** Per parameter: ||g − g_hf|| ≤ GRAD_RTOL·||g_hf||. */
  static final double GRAD_RTOL = 1e-4;
  /**
   * Per element: |g_i − g_hf,i| ≤ ELEM_RTOL·|g_hf,i| + ELEM_ATOL·max|g_hf|. An element's error comes
   * from fp32 sums over the whole tensor's scale (sums of products whose terms are as large as the
   * largest gradients), so a near-zero element is checked against a fraction of the tensor's
   * largest magnitude rather than its own.
   */
  static final double ELEM_RTOL = 1e-3;
  static final double ELEM_ATOL = 1e-4;

  // BF16 (CUDA) tolerances: twice HF's own bf16 error against its fp32 result (stored by the script),
  // with a floor of one bf16 unit roundoff (2^-8): rounding a correct fp32 result to bf16 once already
  // costs up to 2^-9 relative, so a smaller bound than 2^-8 could fail a correct kernel where HF's error
  // happens to be small for one tensor.
  static final double BF16_FLOOR = 1.0 / 256;

  private static final Backend CPU = new CpuBackend();

  @AfterAll
  static void close() { CPU.close(); }

  static Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    for (String f : FAMILIES) for (boolean shared : new boolean[] {false, true}) out.add(Arguments.of(f, shared));
    return out.stream();
  }

  // ---- goldens ----------------------------------------------------------------------------------

  static Path familyDir(String family) throws Exception {
    return Path.of(HfFidelityTest.class.getResource("/fidelity/index.json").toURI()).getParent().resolve(family);
  }

  /** golden.safetensors of one family: packed inputs (int32), HF rewards, loss and named grads. */
  record Golden(Path file, SafetensorsFile st) implements AutoCloseable {
    static Golden open(String family) throws Exception {
      Path p = familyDir(family).resolve("golden.safetensors");
      return new Golden(p, SafetensorsFile.open(p));
    }

    float[] floats(String name) { return st.readFloats(name); }

    int[] ints(String name) {
      SafetensorsFile.Entry e = st.entry(name);
      assertEquals(StDType.I32, e.dtype(), file + ": " + name);
      ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(e.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
        while (b.hasRemaining()) if (ch.read(b, e.fileBegin() + b.position()) < 0) throw new IOException("short read");
      } catch (IOException ex) {
        throw new RuntimeException(file + ": " + name, ex);
      }
      int[] out = new int[Math.toIntExact(e.numel())];
      b.flip().asIntBuffer().get(out);
      return out;
    }

    Set<String> gradNames() {
      Set<String> s = new TreeSet<>();
      for (String k : st.entries().keySet()) if (k.startsWith("grad.")) s.add(k.substring(5));
      return s;
    }

    /** The golden pairs in one of the two layouts; readouts chosen0, rejected0, chosen1, ... */
    PackedBatch batch(boolean shared) {
      String pre = shared ? "sp_" : "";
      int[] tokens = ints(pre + "input_ids"), cu = ints(pre + "cu_seqlens"), readout = ints(pre + "readout");
      int[] pos = ints(pre + "position_ids");
      int[] seg = shared ? ints("sp_segment_ids") : null;
      int maxLen = 0;
      for (int s = 0; s + 1 < cu.length; s++) maxLen = Math.max(maxLen, cu[s + 1] - cu[s]);
      return TestBatches.pairedInOrder(tokens, pos, cu, seg, maxLen, readout);
    }

    @Override public void close() { st.close(); }
  }

  // ---- the loss, in double (the train branch's loss op is not on this branch) -------------------

  /** mean_p −log σ(r_c − r_r) and its gradient w.r.t. every reward. */
  record Ranking(double loss, float[] dRewards) {
    static Ranking of(float[] r, PackedBatch b) {
      int n = b.numPairs();
      double loss = 0;
      float[] d = new float[r.length];
      for (int p = 0; p < n; p++) {
        int c = b.chosen()[p], j = b.rejected()[p];
        double z = (double) r[c] - r[j];
        loss += Math.max(-z, 0) + Math.log1p(Math.exp(-Math.abs(z)));  // softplus(−z), stable
        double s = 1 / (1 + Math.exp(z));  // σ(−z) = −d loss_p / d z
        d[c] += (float) (-s / n);
        d[j] += (float) (s / n);
      }
      return new Ranking(loss / n, d);
    }
  }

  /** Runs forward, the ranking loss and backward; returns rewards, loss and grads per HF name. */
  record Run(float[] rewards, double loss, java.util.Map<String, float[]> grads) {
    static Run of(RewardModel m, PackedBatch b) {
      Backend be = m.backend();
      m.zeroGrad();
      float[] r = be.downloadFloats(m.forward(b));
      Ranking loss = Ranking.of(r, b);
      try (Tensor dR = be.allocate(m.dtype(), r.length)) {
        be.upload(dR, loss.dRewards());
        m.backward(dR);
      }
      java.util.Map<String, float[]> g = new java.util.TreeMap<>();
      for (Parameter p : m.parameters()) g.put(p.hfName(), be.downloadFloats(p.grad()));
      return new Run(r, loss.loss(), g);
    }
  }

  static double norm(float[] a) {
    double s = 0;
    for (float x : a) s += (double) x * x;
    return Math.sqrt(s);
  }

  static double diffNorm(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) s += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
    return Math.sqrt(s);
  }

  static double maxAbs(float[] a) {
    double m = 0;
    for (float x : a) m = Math.max(m, Math.abs(x));
    return m;
  }

  /** Same parameter set as HF: a gradient missing on either side is a failure, not a skip. */
  static void sameNames(Golden g, RewardModel m, String what) {
    Set<String> ours = new TreeSet<>();
    for (Parameter p : m.parameters()) ours.add(p.hfName());
    assertEquals(g.gradNames(), ours, what + ": parameter names differ from HF's");
  }

  // ---- CPU, F32 ---------------------------------------------------------------------------------

  @ParameterizedTest(name = "{0} shared-prefix={1}")
  @MethodSource("cases")
  void cpuF32MatchesTransformers(String family, boolean shared) throws Exception {
    String what = family + (shared ? " shared-prefix" : " separate");
    try (Golden g = Golden.open(family);
         RewardModel m = RewardModel.fromPretrained(familyDir(family).resolve("model"), CPU)) {
      assertEquals(DType.F32, m.dtype());
      sameNames(g, m, what);
      PackedBatch b = g.batch(shared);
      Run run = Run.of(m, b);

      float[] want = g.floats("rewards");
      assertEquals(want.length, run.rewards().length, what + ": number of rewards");
      double worstR = 0;
      for (int i = 0; i < want.length; i++) {
        double err = Math.abs(run.rewards()[i] - want[i]);
        worstR = Math.max(worstR, err / Math.abs(want[i]));
        assertTrue(err <= REWARD_RTOL * Math.abs(want[i]) + REWARD_ATOL,
            what + ": reward " + i + " = " + run.rewards()[i] + ", HF " + want[i]);
      }
      double wantLoss = g.floats("loss")[0];
      assertEquals(wantLoss, run.loss(), REWARD_RTOL * Math.abs(wantLoss) + REWARD_ATOL, what + ": ranking loss");

      double worstNorm = 0, worstElem = 0;
      String worstAt = "";
      for (var e : run.grads().entrySet()) {
        String name = e.getKey();
        float[] got = e.getValue(), hf = g.floats("grad." + name);
        assertEquals(hf.length, got.length, what + ": " + name + " size");
        double hfNorm = norm(hf);
        assertTrue(hfNorm > 0, what + ": HF gradient of " + name + " is zero; the comparison would be vacuous");
        double rel = diffNorm(got, hf) / hfNorm;
        if (rel > worstNorm) { worstNorm = rel; worstAt = name; }
        assertTrue(rel <= GRAD_RTOL, what + ": " + name + " gradient relative error " + rel);
        double scale = maxAbs(hf);
        for (int i = 0; i < hf.length; i++) {
          double err = Math.abs(got[i] - hf[i]);
          worstElem = Math.max(worstElem, err / (Math.abs(hf[i]) + scale));
          if (err > ELEM_RTOL * Math.abs(hf[i]) + ELEM_ATOL * scale) {
            fail(what + ": " + name + "[" + i + "] = " + got[i] + ", HF " + hf[i] + " (tensor max " + scale + ")");
          }
        }
      }
      System.out.printf("HfFidelityTest %s F32: max reward rel err %.2e, loss err %.2e, worst grad norm rel err %.2e (%s), "
          + "worst elem err/(|g|+max|g|) %.2e%n", what, worstR, Math.abs(run.loss() - wantLoss), worstNorm, worstAt, worstElem);
    }
  }

  // ---- CUDA, BF16 -------------------------------------------------------------------------------

  @Tag("gpu")
  @ParameterizedTest(name = "{0} shared-prefix={1}")
  @MethodSource("cases")
  void cudaBf16WithinTwiceHfOwnBf16Error(String family, boolean shared) throws Exception {
    CudaSupport.Probe probe = CudaSupport.probe();
    Assumptions.assumeTrue(probe.available(), "no CUDA device: " + probe.detail());
    String what = family + (shared ? " shared-prefix" : " separate") + " (cuda)";
    try (Backend cuda = CudaSupport.open();
         Golden g = Golden.open(family);
         RewardModel m = RewardModel.fromPretrained(familyDir(family).resolve("model"), cuda)) {
      sameNames(g, m, what);
      PackedBatch b = g.batch(shared);
      Run run = Run.of(m, b);

      float[] want = g.floats("rewards"), hf16 = g.floats("bf16_rewards");
      double hfErr = 0;  // HF's worst bf16 reward error: per-reward errors are too noisy to bound one by one
      for (int i = 0; i < want.length; i++) hfErr = Math.max(hfErr, Math.abs(hf16[i] - want[i]));
      double rTol = Math.max(2 * hfErr, BF16_FLOOR);
      for (int i = 0; i < want.length; i++) {
        assertTrue(Math.abs(run.rewards()[i] - want[i]) <= rTol,
            what + ": reward " + i + " = " + run.rewards()[i] + ", HF fp32 " + want[i] + ", HF bf16 " + hf16[i] + ", tol " + rTol);
      }
      for (var e : run.grads().entrySet()) {
        String name = e.getKey();
        float[] got = e.getValue(), hf = g.floats("grad." + name);
        double rel = diffNorm(got, hf) / norm(hf);
        double relTol = Math.max(2 * g.floats("bf16_grad_relerr." + name)[0], BF16_FLOOR);
        assertTrue(rel <= relTol, what + ": " + name + " gradient relative error " + rel + " > " + relTol);
        double elemTol = Math.max(2 * g.floats("bf16_grad_maxerr." + name)[0], BF16_FLOOR * maxAbs(hf));
        for (int i = 0; i < hf.length; i++) {
          if (Math.abs(got[i] - hf[i]) > elemTol) {
            fail(what + ": " + name + "[" + i + "] = " + got[i] + ", HF fp32 " + hf[i] + ", tol " + elemTol);
          }
        }
      }
    }
  }
}
