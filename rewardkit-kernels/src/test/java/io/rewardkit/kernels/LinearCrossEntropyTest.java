package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.kernels.cpu.LinearCrossEntropy;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The fused LM head + log-softmax gather (native/cpu/linear_cross_entropy.cpp) against float64 references. */
class LinearCrossEntropyTest {
  private final Backend cpu = new CpuBackend();

  /** Targets in [0, V) with every third token ignored (-100, as HF's ignore index). */
  private static Tensor targets(SplittableRandom rng, int tokens, int vocab) {
    int[] y = new int[tokens];
    for (int t = 0; t < tokens; t++) y[t] = t % 3 == 2 ? -100 : rng.nextInt(vocab);
    if (tokens > 1) y[0] = vocab - 1;  // the last row of the ragged last vocab chunk
    return Tensor.hostOf(y, tokens);
  }

  private static void forward(Tensor logp, Tensor lse, Tensor h, Tensor w, Tensor y, int tc, int vc) {
    long tokens = y.numel(), vocab = w.dim(0), dim = w.dim(1);
    LinearCrossEntropy.linear_cross_entropy_forward(logp.f64(), lse.f64(), h.f64(), w.f64(), y.i32(), tokens, dim, vocab,
        tc, vc);
  }

  /** log softmax(h · wᵀ)[y] the plain way, with the [T, V] logits. */
  private static double[] naiveLogp(Tensor h, Tensor w, int[] y) {
    int tokens = y.length, vocab = (int) w.dim(0), dim = (int) w.dim(1);
    double[] out = new double[tokens];
    for (int t = 0; t < tokens; t++) {
      if (y[t] < 0) continue;
      double[] z = new double[vocab];
      double max = Double.NEGATIVE_INFINITY;
      for (int v = 0; v < vocab; v++) {
        for (int k = 0; k < dim; k++) z[v] += h.getDouble((long) t * dim + k) * w.getDouble((long) v * dim + k);
        max = Math.max(max, z[v]);
      }
      double s = 0;
      for (int v = 0; v < vocab; v++) s += Math.exp(z[v] - max);
      out[t] = z[y[t]] - max - Math.log(s);
    }
    return out;
  }

  @ParameterizedTest(name = "T={0} D={1} V={2} chunks {3}x{4}")
  @CsvSource({"1,3,7,0,0", "1,5,1,1,1", "5,4,11,2,3", "9,6,37,4,8", "7,3,13,32,512", "12,5,29,5,29"})
  void gradientsMatchFiniteDifferences(int tokens, int dim, int vocab, int tc, int vc) {
    SplittableRandom rng = new SplittableRandom(tokens * 1_000_000L + dim * 1000L + vocab);
    Tensor h = GradCheck.random(rng, 1.0, tokens, dim);
    Tensor w = GradCheck.random(rng, 1.0, vocab, dim);
    Tensor y = targets(rng, tokens, vocab);
    Tensor g = GradCheck.random(rng, 1.0, tokens);
    Tensor logp = Tensor.host(DType.F64, tokens), lse = Tensor.host(DType.F64, tokens);
    forward(logp, lse, h, w, y, tc, vc);
    assertArrayEquals(naiveLogp(h, w, y.toIntArray()), logp.toDoubleArray(), 1e-12, "logp vs the [T, V] logits");

    Tensor dh = GradCheck.random(rng, 9.0, tokens, dim);  // garbage: the backward must overwrite it
    Tensor dw0 = GradCheck.random(rng, 1.0, vocab, dim);  // the backward must add to it
    Tensor dw = Tensor.hostOf(dw0.toDoubleArray(), vocab, dim);
    LinearCrossEntropy.linear_cross_entropy_backward(dh.f64(), dw.f64(), g.f64(), lse.f64(), h.f64(), w.f64(), y.i32(),
        tokens, dim, vocab, tc, vc);
    for (long i = 0; i < dw.numel(); i++) dw.setDouble(i, dw.getDouble(i) - dw0.getDouble(i));
    Tensor lp = Tensor.host(DType.F64, tokens), ls = Tensor.host(DType.F64, tokens);
    DoubleSupplier loss = () -> { forward(lp, ls, h, w, y, tc, vc); return GradCheck.dot(g, lp); };
    GradCheck.check("dHidden", h, dh, loss, 400, 1);
    GradCheck.check("dWeight", w, dw, loss, 400, 2);
    int[] ids = y.toIntArray();
    for (int t = 0; t < tokens; t++) {
      if (ids[t] >= 0) continue;
      assertEquals(0.0, logp.getDouble(t));
      for (int k = 0; k < dim; k++) assertEquals(0.0, dh.getDouble((long) t * dim + k), "ignored token " + t);
    }
  }

  @Test
  void qwenSizedVocabularyInFloat32MatchesDoubleLogits() {
    // 151,936 entries (Qwen2/3): many default vocab chunks and a ragged last one, through the Backend API in F32.
    SplittableRandom rng = new SplittableRandom(151936);
    int tokens = 3, dim = 16, vocab = 151_936;
    Tensor h = GradCheck.random(rng, 1.0, tokens, dim);
    Tensor w = GradCheck.random(rng, 0.5, vocab, dim);
    int[] ids = {vocab - 1, 0, 77_777};
    double[] ref = naiveLogp(h, w, ids);
    Tensor logp = Tensor.host(DType.F32, tokens), lse = Tensor.host(DType.F32, tokens);
    cpu.linearCrossEntropyForward(logp, lse, Tensor.hostOf(h.toFloatArray(), tokens, dim),
        Tensor.hostOf(w.toFloatArray(), vocab, dim), Tensor.hostOf(ids, tokens));
    for (int t = 0; t < tokens; t++) assertEquals(ref[t], logp.getDouble(t), 1e-4 * Math.abs(ref[t]), "token " + t);
  }

  @Test
  void resultDoesNotDependOnChunkSizes() {
    SplittableRandom rng = new SplittableRandom(7);
    int tokens = 23, dim = 9, vocab = 101;
    Tensor h = GradCheck.random(rng, 2.0, tokens, dim);
    Tensor w = GradCheck.random(rng, 2.0, vocab, dim);
    Tensor y = targets(rng, tokens, vocab);
    Tensor g = GradCheck.random(rng, 1.0, tokens);
    double[][] first = null;
    for (int[] c : new int[][] {{0, 0}, {1, 1}, {23, 101}, {4, 10}, {7, 33}}) {
      Tensor logp = Tensor.host(DType.F64, tokens), lse = Tensor.host(DType.F64, tokens);
      Tensor dh = Tensor.host(DType.F64, tokens, dim), dw = Tensor.host(DType.F64, vocab, dim);
      forward(logp, lse, h, w, y, c[0], c[1]);
      LinearCrossEntropy.linear_cross_entropy_backward(dh.f64(), dw.f64(), g.f64(), lse.f64(), h.f64(), w.f64(), y.i32(),
          tokens, dim, vocab, c[0], c[1]);
      double[][] got = {logp.toDoubleArray(), dh.toDoubleArray(), dw.toDoubleArray()};
      if (first == null) first = got;
      for (int k = 0; k < 3; k++) assertArrayEquals(first[k], got[k], 1e-12, "chunks " + c[0] + "x" + c[1]);
    }
  }

  /** A frozen head (LoRA policies) passes no dw: the hidden states' gradient is the same, bit for bit. */
  @Test
  void frozenHeadWithoutWeightGradientGivesTheSameHiddenGradient() {
    SplittableRandom rng = new SplittableRandom(11);
    int tokens = 17, dim = 6, vocab = 53;
    Tensor h = GradCheck.random(rng, 2.0, tokens, dim), w = GradCheck.random(rng, 2.0, vocab, dim);
    Tensor y = targets(rng, tokens, vocab), g = GradCheck.random(rng, 1.0, tokens);
    Tensor logp = Tensor.host(DType.F64, tokens), lse = Tensor.host(DType.F64, tokens);
    cpu.linearCrossEntropyForward(logp, lse, h, w, y);
    Tensor dh = Tensor.host(DType.F64, tokens, dim), dw = Tensor.host(DType.F64, vocab, dim), dhFrozen = Tensor.host(DType.F64, tokens, dim);
    cpu.linearCrossEntropyBackward(dh, dw, g, lse, h, w, y);
    cpu.linearCrossEntropyBackward(dhFrozen, null, g, lse, h, w, y);
    assertArrayEquals(dh.toDoubleArray(), dhFrozen.toDoubleArray(), 0.0);
    assertTrue(java.util.Arrays.stream(dh.toDoubleArray()).anyMatch(x -> x != 0));
  }

  @Test
  void targetOutsideTheVocabularyIsNamed() {
    Tensor h = Tensor.hostOf(new double[6], 2, 3), w = Tensor.hostOf(new double[15], 5, 3);
    Tensor y = Tensor.hostOf(new int[] {1, 5}, 2);
    Tensor logp = Tensor.host(DType.F64, 2), lse = Tensor.host(DType.F64, 2);
    RuntimeException e = assertThrows(RuntimeException.class, () -> cpu.linearCrossEntropyForward(logp, lse, h, w, y));
    assertTrue(e.getMessage().contains("targets[1] = 5 is outside the vocabulary [0, 5)"), e.getMessage());
  }
}
