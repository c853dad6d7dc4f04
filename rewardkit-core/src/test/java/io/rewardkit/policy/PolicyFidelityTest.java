package io.rewardkit.policy;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.PreferenceLossInputs;
import io.rewardkit.kernels.PreferenceLossSpec;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.TrainableModel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The whole policy path against TRL 1.13 on the golden tiny Qwen2 policy + reference (tools/trl_fidelity.py):
 * per-response log-probs through the decoder and the fused linear cross-entropy, the fused preference loss, and
 * the backward through both, in both packing layouts. Loss, metrics and every named parameter gradient must equal
 * TRL's within 1e-5 relative (gradients: per tensor, in norm).
 */
class PolicyFidelityTest {
  static final double LOGP_TOL = 1e-5, GRAD_RTOL = 1e-5;
  private final Backend cpu = new CpuBackend();

  static List<int[][]> pairs() throws Exception {
    List<int[][]> out = new ArrayList<>();
    for (int p = 0; p < TrlGolden.pairs(); p++) out.add(TrlGolden.pair(p));
    return out;
  }

  /** KTO's KL rows as TRL builds them (production code: the trainer uses the same). */
  static List<int[][]> klPairs(List<int[][]> pairs) {
    return PolicyBatches.klPairs(pairs);
  }

  @ParameterizedTest(name = "shared_prefix={0}")
  @CsvSource({"false", "true"})
  void unpackReadsBackThePackedPairs(boolean shared) throws Exception {
    List<int[][]> pairs = pairs();
    PackedBatch b = PolicyBatches.pack(pairs, shared);
    int[] pl = PolicyBatches.promptLengths(pairs);
    List<int[][]> back = PolicyBatches.unpack(b, PolicyTargets.of(b, pl), pl);
    assertEquals(pairs.size(), back.size());
    for (int k = 0; k < pairs.size(); k++) {
      for (int side = 0; side < 3; side++) assertArrayEquals(pairs.get(k)[side], back.get(k)[side], "pair " + k + " part " + side);
    }
    // TRL's cycling: no KL row keeps its own completion when there is more than one pair
    List<int[][]> kl = PolicyBatches.klPairs(pairs);
    for (int k = 0; k < pairs.size(); k++) {
      assertFalse(java.util.Arrays.equals(kl.get(k)[1], pairs.get(k)[1]) || java.util.Arrays.equals(kl.get(k)[2], pairs.get(k)[2]));
    }
  }

  static void assertLogps(String what, float[] want, double[] got) {
    assertEquals(want.length, got.length, what);
    for (int i = 0; i < want.length; i++) {
      assertEquals(want[i], got[i], LOGP_TOL * Math.max(1, Math.abs(want[i])), what + " [" + i + "]");
    }
  }

  @ParameterizedTest(name = "{0} shared_prefix={1}")
  @CsvSource({"dpo,false", "dpo,true", "ipo,false", "ipo,true", "cpo,false", "cpo,true", "simpo,false", "simpo,true",
      "orpo,false", "orpo,true", "kto,false", "kto,true"})
  void lossMetricsAndGradientsMatchTrl(String task, boolean shared) throws Exception {
    PreferenceLossSpec spec = TrlLossFidelityTest.spec(task, TrlGolden.index().get("tasks").get(task).get("options"));
    List<int[][]> pairs = pairs();
    int np = pairs.size(), s = 2 * np;
    PackedBatch batch = PolicyBatches.pack(pairs, shared);
    PolicyTargets targets = PolicyTargets.of(batch, PolicyBatches.promptLengths(pairs));
    try (PolicyModel policy = PolicyModel.fromPretrained(TrlGolden.DIR.resolve("policy"), cpu, DType.F32);
         PolicyModel ref = PolicyModel.fromPretrained(TrlGolden.DIR.resolve("ref"), cpu, DType.F32)) {
      assertFalse(policy.tied(), "the golden policy has an untied lm_head");
      double[] refLogps = ref.forward(batch, targets).response();
      assertLogps("ref logps", TrlGolden.floats("golden.safetensors", "ref_logps"), refLogps);
      double[] klPolicy = null, klRef = null;
      if (spec.lossType() == PreferenceLossSpec.KTO) {
        // the KL rows as the trainer builds them: read back out of the packed bin, cycled, packed in its layout
        PolicyBatches.KlBatch klb = PolicyBatches.klBatch(batch, PolicyBatches.promptLengths(pairs), shared);
        PackedBatch kb = klb.batch();
        PolicyTargets kt = klb.targets();
        klPolicy = reorderKl(policy.forward(kb, kt).response(), np);
        klRef = reorderKl(ref.forward(kb, kt).response(), np);
        assertLogps("KL policy logps", TrlGolden.floats("golden.safetensors", "kto_kl_policy_logps"), klPolicy);
        assertLogps("KL ref logps", TrlGolden.floats("golden.safetensors", "kto_kl_ref_logps"), klRef);
      }

      policy.zeroGrad();
      PolicyHead.Logps lp = policy.forward(batch, targets);
      assertLogps("policy logps", TrlGolden.floats("golden.safetensors", "policy_logps"), lp.response());
      float[] wantPrompt = TrlGolden.floats("golden.safetensors", "policy_prompt_logps");
      for (int p = 0; p < np; p++) assertEquals(wantPrompt[2 * p], lp.prompt()[2 * p], LOGP_TOL * Math.max(1, Math.abs(wantPrompt[2 * p])));

      int[] chosen = new int[np], rejected = new int[np], labels = new int[s];
      for (int p = 0; p < np; p++) { chosen[p] = 2 * p; rejected[p] = 2 * p + 1; labels[2 * p] = 1; }
      boolean kto = spec.lossType() == PreferenceLossSpec.KTO, orpo = spec.lossType() == PreferenceLossSpec.ORPO;
      Tensor d = Tensor.host(DType.F64, s), dPrompt = Tensor.host(DType.F64, s);
      double[] stats = cpu.preferenceLoss(new PreferenceLossInputs(Tensor.hostOf(lp.response(), s),
          spec.needsReference() ? Tensor.hostOf(refLogps, s) : null, Tensor.hostOf(targets.lengths(), s),
          orpo ? Tensor.hostOf(lp.prompt(), s) : null, orpo ? Tensor.hostOf(targets.promptLengths(), s) : null,
          kto ? null : Tensor.hostOf(chosen, np), kto ? null : Tensor.hostOf(rejected, np), kto ? Tensor.hostOf(labels, s) : null,
          kto ? Tensor.hostOf(klPolicy, s) : null, kto ? Tensor.hostOf(klRef, s) : null, d, orpo ? dPrompt : null), spec, 1.0);
      String file = task + ".safetensors";
      TrlLossFidelityTest.assertClose(task + " loss", TrlGolden.floats(file, "loss")[0], stats[PreferenceLossSpec.LOSS]);
      for (int i = 1; i < PreferenceLossSpec.NUM_STATS; i++) {
        String name = PreferenceLossSpec.METRIC_NAMES.get(i);
        if (TrlGolden.has(file, "metric." + name)) {
          // Margins and log-odds are differences of two f32 log-prob sums computed by the model (each within
          // LOGP_TOL relative): their error is absolute, ~1e-7 of a sum of magnitude 10, not relative to the small
          // difference; 1e-6 absolute bounds it (a wrong metric is off by far more).
          double want = TrlGolden.floats(file, "metric." + name)[0];
          assertEquals(want, stats[i], Math.max(1e-5 * Math.abs(want), 1e-6), task + " " + name);
        }
      }

      policy.backward(d.toDoubleArray(), orpo ? dPrompt.toDoubleArray() : null);
      double worst = 0;
      String worstAt = "";
      int compared = 0;
      for (TrainableModel.Param p : policy.params()) {
        float[] want = TrlGolden.floats(file, "grad." + p.name()), got = p.grad().toFloatArray();
        assertEquals(want.length, got.length, p.name());
        double num = 0, den = 0;
        for (int i = 0; i < want.length; i++) {
          num += (got[i] - (double) want[i]) * (got[i] - (double) want[i]);
          den += (double) want[i] * want[i];
        }
        assertTrue(den > 0, task + ": TRL's gradient of " + p.name() + " is zero; the comparison would be vacuous");
        double rel = Math.sqrt(num / den);
        if (rel > worst) { worst = rel; worstAt = p.name(); }
        compared++;
      }
      System.out.printf("PolicyFidelityTest %s shared_prefix=%s: %d gradients, worst norm rel err %.2e (%s)%n", task,
          shared, compared, worst, worstAt);
      assertTrue(worst <= GRAD_RTOL, task + ": gradient of " + worstAt + " off by " + worst + " (relative, in norm)");
      assertEquals(TrlGolden.gradNames(file).size(), compared, task + ": TRL has gradients RewardKit did not compare");
    }
  }

  /** KL rows come back pair-ordered (k: rows k and k + P); TRL's order is row 0 .. 2P - 1. */
  private static double[] reorderKl(double[] pairOrdered, int np) {
    double[] out = new double[2 * np];
    for (int k = 0; k < np; k++) {
      out[k] = pairOrdered[2 * k];
      out[k + np] = pairOrdered[2 * k + 1];
    }
    return out;
  }
}
