package io.rewardkit.policy;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.PreferenceLossInputs;
import io.rewardkit.kernels.PreferenceLossSpec;
import io.rewardkit.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fused preference loss against TRL's own loss code: given the per-response log-probs of the golden's tiny
 * Qwen2 policy and reference (plain HF forward), the loss and every TRL metric RewardKit reports equal TRL's
 * within 1e-5 relative (fp32 goldens). The model-level test (log-probs and gradients through the policy) is
 * PolicyFidelityTest.
 */
class TrlLossFidelityTest {
  private final Backend cpu = new CpuBackend();

  static PreferenceLossSpec spec(String task, JsonNode options) {
    int type = PreferenceLossSpec.TASKS.indexOf(task);
    double beta = options.get("beta").asDouble();
    double ls = options.path("label_smoothing").asDouble(0);
    double alpha = options.has("rpo_alpha") ? options.get("rpo_alpha").asDouble() : options.path("cpo_alpha").asDouble(0);
    return new PreferenceLossSpec(type, beta, ls, alpha, options.path("simpo_gamma").asDouble(0),
        options.path("desirable_weight").asDouble(1), options.path("undesirable_weight").asDouble(1));
  }

  /**
   * 1e-5 relative, with a floor of 1e-7 absolute: TRL computes in fp32, so a small difference of fp32 numbers (a
   * margin of 0.008 between rewards of 0.09) already carries ~1e-8 of TRL's own rounding.
   */
  static void assertClose(String what, double want, double got) {
    assertEquals(want, got, Math.max(1e-5 * Math.abs(want), 1e-7), what);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"dpo", "ipo", "cpo", "simpo", "orpo", "kto"})
  void lossAndMetricsMatchTrl(String task) throws Exception {
    PreferenceLossSpec spec = spec(task, TrlGolden.index().get("tasks").get(task).get("options"));
    int pairs = TrlGolden.pairs(), s = 2 * pairs;
    int[] lengths = new int[s], promptLengths = new int[s], chosen = new int[pairs], rejected = new int[pairs],
        labels = new int[s];
    for (int p = 0; p < pairs; p++) {
      int[][] ids = TrlGolden.pair(p);
      lengths[2 * p] = ids[1].length;
      lengths[2 * p + 1] = ids[2].length;
      promptLengths[2 * p] = promptLengths[2 * p + 1] = ids[0].length - 1;
      chosen[p] = 2 * p;
      rejected[p] = 2 * p + 1;
      labels[2 * p] = 1;
    }
    float[] logps = TrlGolden.floats("golden.safetensors", "policy_logps");
    boolean kto = spec.lossType() == PreferenceLossSpec.KTO;
    PreferenceLossInputs in = new PreferenceLossInputs(Tensor.hostOf(logps, s),
        spec.needsReference() ? Tensor.hostOf(TrlGolden.floats("golden.safetensors", "ref_logps"), s) : null,
        Tensor.hostOf(lengths, s), Tensor.hostOf(TrlGolden.floats("golden.safetensors", "policy_prompt_logps"), s),
        Tensor.hostOf(promptLengths, s), kto ? null : Tensor.hostOf(chosen, pairs), kto ? null : Tensor.hostOf(rejected, pairs),
        kto ? Tensor.hostOf(labels, s) : null,
        kto ? Tensor.hostOf(TrlGolden.floats("golden.safetensors", "kto_kl_policy_logps"), s) : null,
        kto ? Tensor.hostOf(TrlGolden.floats("golden.safetensors", "kto_kl_ref_logps"), s) : null, null, null);
    double[] stats = cpu.preferenceLoss(in, spec, 1.0);
    String file = task + ".safetensors";
    assertClose(task + " loss", TrlGolden.floats(file, "loss")[0], stats[PreferenceLossSpec.LOSS]);
    List<String> compared = new ArrayList<>();
    for (int i = 1; i < PreferenceLossSpec.NUM_STATS; i++) {
      String name = PreferenceLossSpec.METRIC_NAMES.get(i);
      if (!TrlGolden.has(file, "metric." + name)) continue;
      assertFalse(Double.isNaN(stats[i]), task + ": TRL logs " + name + ", RewardKit does not");
      assertClose(task + " " + name, TrlGolden.floats(file, "metric." + name)[0], stats[i]);
      compared.add(name);
    }
    assertTrue(compared.containsAll(List.of("rewards/chosen", "rewards/rejected", "rewards/margins", "logps/chosen",
        "logps/rejected")), task + ": compared only " + compared);
  }
}
