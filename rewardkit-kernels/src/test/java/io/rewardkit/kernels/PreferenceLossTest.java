package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The fused preference losses (native/cpu/preference_loss.cpp): float64 finite differences and the formulas. */
class PreferenceLossTest {
  private final Backend cpu = new CpuBackend();

  /** 7 responses, 4 pairs (response 0 in two pairs), KTO labels and 3 KL sequences. */
  private record Batch(Tensor logps, Tensor ref, Tensor lengths, Tensor promptLogps, Tensor promptLengths,
      Tensor chosen, Tensor rejected, Tensor labels, Tensor kl, Tensor refKl) {}

  private static Batch batch(long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    int s = 7;
    int[] len = new int[s];
    int[] plen = new int[s];
    double[] lp = new double[s], ref = new double[s], plp = new double[s];
    for (int i = 0; i < s; i++) {
      len[i] = 1 + i % 4;
      lp[i] = -len[i] * (0.2 + rng.nextDouble());  // average log-prob in (-1.2, -0.2): ORPO's log1mexp is defined
      ref[i] = lp[i] + rng.nextDouble() - 0.5;
      plen[i] = i % 3;  // 0: a one-token prompt predicts nothing
      plp[i] = -plen[i] * (0.5 + rng.nextDouble());
    }
    return new Batch(Tensor.hostOf(lp, s), Tensor.hostOf(ref, s), Tensor.hostOf(len, s), Tensor.hostOf(plp, s),
        Tensor.hostOf(plen, s),
        Tensor.hostOf(new int[] {0, 2, 4, 0}, 4), Tensor.hostOf(new int[] {1, 3, 5, 6}, 4),
        Tensor.hostOf(new int[] {1, 0, 1, 1, 0, 0, 1}, s), Tensor.hostOf(new double[] {-3, -2.5, -4}, 3),
        Tensor.hostOf(new double[] {-3.2, -2.9, -3.5}, 3));
  }

  private static PreferenceLossSpec spec(int type) {
    return new PreferenceLossSpec(type, type == PreferenceLossSpec.SIMPO ? 2.0 : 0.3, type == PreferenceLossSpec.IPO
        || type == PreferenceLossSpec.ORPO || type == PreferenceLossSpec.KTO ? 0 : 0.1, 0.7, 1.0, 1.0, 1.33);
  }

  private double[] run(Batch b, PreferenceLossSpec spec, Tensor d, Tensor dPrompt) {
    boolean kto = spec.lossType() == PreferenceLossSpec.KTO, orpo = spec.lossType() == PreferenceLossSpec.ORPO;
    return cpu.preferenceLoss(new PreferenceLossInputs(b.logps, spec.needsReference() ? b.ref : null, b.lengths,
        orpo ? b.promptLogps : null, orpo ? b.promptLengths : null, kto ? null : b.chosen, kto ? null : b.rejected,
        kto ? b.labels : null, kto ? b.kl : null, kto ? b.refKl : null, d, dPrompt), spec, 1.0);
  }

  private double[] run(Batch b, PreferenceLossSpec spec, Tensor d) { return run(b, spec, d, null); }

  @ParameterizedTest(name = "{0}")
  @ValueSource(ints = {0, 1, 2, 3, 4, 5})
  void gradientMatchesFiniteDifferences(int type) {
    Batch b = batch(type + 11);
    PreferenceLossSpec spec = spec(type);
    Tensor d = Tensor.host(DType.F64, 7), dPrompt = Tensor.host(DType.F64, 7);
    double[] stats = run(b, spec, d, dPrompt);
    assertTrue(Double.isFinite(stats[PreferenceLossSpec.LOSS]), spec.task());
    GradCheck.check(spec.task() + " dLogps", b.logps, d, () -> run(b, spec, null)[PreferenceLossSpec.LOSS], 7, 1);
    GradCheck.check(spec.task() + " dPromptLogps", b.promptLogps, dPrompt,
        () -> run(b, spec, null)[PreferenceLossSpec.LOSS], 7, 2);
  }

  @Test
  void dpoMatchesItsDefinitionWithLabelSmoothingAndRpoAlpha() {
    Batch b = batch(3);
    PreferenceLossSpec spec = new PreferenceLossSpec(PreferenceLossSpec.DPO, 0.1, 0.2, 0.5, 0, 1, 1);
    double[] stats = run(b, spec, null);
    double[] lp = b.logps.toDoubleArray(), ref = b.ref.toDoubleArray();
    int[] c = b.chosen.toIntArray(), r = b.rejected.toIntArray(), len = b.lengths.toIntArray();
    double loss = 0, nllSum = 0, nllTok = 0, acc = 0;
    for (int i = 0; i < 4; i++) {
      double delta = (lp[c[i]] - ref[c[i]]) - (lp[r[i]] - ref[r[i]]);
      loss += -(0.8) * logSigmoid(0.1 * delta) - 0.2 * logSigmoid(-0.1 * delta);
      nllSum += lp[c[i]];
      nllTok += len[c[i]];
      acc += delta > 0 ? 1 : 0;
    }
    double nll = -nllSum / nllTok;
    assertEquals(loss / 4 + 0.5 * nll, stats[PreferenceLossSpec.LOSS], 1e-12);
    assertEquals(nll, stats[PreferenceLossSpec.NLL_LOSS], 1e-12);
    assertEquals(acc / 4, stats[PreferenceLossSpec.ACCURACIES], 0);
    assertTrue(Double.isNaN(stats[PreferenceLossSpec.KL]), "kl is a KTO metric");
  }

  @Test
  void ktoClampsTheKlEstimateAtZero() {
    Batch b = batch(5);
    PreferenceLossSpec spec = spec(PreferenceLossSpec.KTO);
    double[] stats = run(b, spec, null);
    assertEquals((0.2 + 0.4 - 0.5) / 3, stats[PreferenceLossSpec.KL], 1e-12);
    Batch negative = new Batch(b.logps, b.ref, b.lengths, b.promptLogps, b.promptLengths, b.chosen, b.rejected, b.labels,
        b.refKl, b.kl);
    assertEquals(0.0, run(negative, spec, null)[PreferenceLossSpec.KL]);
    assertTrue(Double.isNaN(stats[PreferenceLossSpec.ACCURACIES]), "TRL logs no accuracies for KTO");
  }

  @Test
  void badInputIsNamed() {
    Batch b = batch(1);
    Tensor zeroLen = Tensor.hostOf(new int[] {1, 0, 1, 1, 1, 1, 1}, 7);
    RuntimeException e = assertThrows(RuntimeException.class, () -> cpu.preferenceLoss(new PreferenceLossInputs(b.logps,
        b.ref, zeroLen, null, null, b.chosen, b.rejected, null, null, null, null, null), spec(PreferenceLossSpec.DPO), 1));
    assertTrue(e.getMessage().contains("response 1 has no tokens"), e.getMessage());
    e = assertThrows(RuntimeException.class, () -> cpu.preferenceLoss(new PreferenceLossInputs(b.logps, null, b.lengths,
        null, null, b.chosen, b.rejected, null, null, null, null, null), spec(PreferenceLossSpec.DPO), 1));
    assertTrue(e.getMessage().contains("needs reference log-probs"), e.getMessage());
  }

  private static double logSigmoid(double x) { return -Math.log1p(Math.exp(-x)); }
}
