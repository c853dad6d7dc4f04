package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.params.provider.EnumSource;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ScoreTest {
  private final Backend cpu = new CpuBackend();

  /** Readout rows in [0, T), with a repeated row when R > 1. */
  private static Tensor readout(SplittableRandom rng, int readouts, int tokens) {
    int[] r = new int[readouts];
    for (int i = 0; i < readouts; i++) r[i] = rng.nextInt(tokens);
    if (readouts > 1) r[readouts - 1] = r[0];
    return Tensor.hostOf(r, readouts);
  }

  @ParameterizedTest(name = "T={0} D={1} R={2}")
  @CsvSource({"1,1,1", "5,7,3", "9,64,4", "3,1,5", "6,80,2"})
  void backwardMatchesFiniteDifferences(int tokens, int dim, int readouts) {
    SplittableRandom rng = new SplittableRandom(tokens * 1_000_000L + dim * 1000L + readouts);
    Tensor hidden = GradCheck.random(rng, 1.0, tokens, dim);
    Tensor w = GradCheck.random(rng, 1.0, dim);
    Tensor idx = readout(rng, readouts, tokens);
    Tensor g = GradCheck.random(rng, 1.0, readouts);
    Tensor rewards = Tensor.host(DType.F64, readouts);
    Tensor dHidden = Tensor.host(DType.F64, tokens, dim);
    Tensor dw = Tensor.host(DType.F64, dim);
    cpu.scoreBackward(dHidden, dw, g, hidden, idx, w);
    DoubleSupplier loss = () -> { cpu.scoreForward(rewards, hidden, idx, w); return GradCheck.dot(g, rewards); };
    GradCheck.check("score dHidden", hidden, dHidden, loss, 300, 1);
    GradCheck.check("score dw", w, dw, loss, 300, 2);
  }

  @Test
  void forwardMatchesDotProductsInBothDtypes() {
    SplittableRandom rng = new SplittableRandom(4);
    int tokens = 40, dim = 1000, readouts = 6;
    Tensor hidden = GradCheck.random(rng, 1.0, tokens, dim);
    Tensor w = GradCheck.random(rng, 1.0, dim);
    Tensor idx = readout(rng, readouts, tokens);
    Tensor rewards = Tensor.host(DType.F64, readouts);
    cpu.scoreForward(rewards, hidden, idx, w);
    Tensor rewards32 = Tensor.host(DType.F32, readouts);
    cpu.scoreForward(rewards32, Tensor.hostOf(hidden.toFloatArray(), tokens, dim), idx, Tensor.hostOf(w.toFloatArray(), dim));
    int[] rows = idx.toIntArray();
    for (int r = 0; r < readouts; r++) {
      double s = 0;
      for (int i = 0; i < dim; i++) s += hidden.getDouble((long) rows[r] * dim + i) * w.getDouble(i);
      assertEquals(s, rewards.getDouble(r), 1e-12);
      // F32 path accumulates in double; only the inputs' F32 rounding remains: <= 2 · 2^-24 · Σ|h w| < 1e-4.
      assertEquals(s, rewards32.getDouble(r), 1e-4);
    }
  }

  @Test
  void backwardOverwritesHiddenGradAndAccumulatesWeightGrad() {
    SplittableRandom rng = new SplittableRandom(8);
    int tokens = 100, dim = 700, readouts = 4;  // T·D above the OpenMP threshold; D spans 3 column blocks
    for (DType type : new DType[] {DType.F64, DType.F32}) {
      Tensor hidden = GradCheck.cast(GradCheck.random(rng, 1.0, tokens, dim), type);
      Tensor w = GradCheck.cast(GradCheck.random(rng, 1.0, dim), type);
      Tensor idx = Tensor.hostOf(new int[] {7, 99, 7, 0}, readouts);  // row 7 twice
      Tensor g = GradCheck.cast(Tensor.hostOf(new double[] {0.5, -1.5, 2.0, 0.25}, readouts), type);
      Tensor dHidden = Tensor.host(type, tokens, dim);
      for (long k = 0; k < dHidden.numel(); k++) dHidden.setDouble(k, Double.NaN);
      Tensor dw = Tensor.host(type, dim);
      for (int k = 0; k < dim; k++) dw.setDouble(k, 1.0);
      cpu.scoreBackward(dHidden, dw, g, hidden, idx, w);
      double tol = type == DType.F64 ? 1e-15 : 1e-6;
      for (int t = 0; t < tokens; t++) {
        double scale = t == 7 ? 0.5 + 2.0 : t == 99 ? -1.5 : t == 0 ? 0.25 : 0.0;
        for (int i = 0; i < dim; i++) {
          assertEquals(scale * w.getDouble(i), dHidden.getDouble((long) t * dim + i), tol, type + " dHidden row " + t);
        }
      }
      for (int i = 0; i < dim; i++) {
        double expect = 1.0 + 2.5 * hidden.getDouble(7L * dim + i) - 1.5 * hidden.getDouble(99L * dim + i)
            + 0.25 * hidden.getDouble(i);
        assertEquals(expect, dw.getDouble(i), tol * 10, type + " dw " + i);
      }
    }
  }

  /** Backend contract: dHidden overwritten (all rows, not only readouts), dw accumulated. */
  @ParameterizedTest(name = "{0}")
  @EnumSource(value = DType.class, names = {"F64", "F32"})
  void backwardOverwritesDHiddenAndAccumulatesDw(DType type) {
    SplittableRandom rng = new SplittableRandom(24);
    int tokens = 8, dim = 19, readouts = 4;
    Tensor hidden = GradCheck.cast(GradCheck.random(rng, 1.0, tokens, dim), type);
    Tensor w = GradCheck.cast(GradCheck.random(rng, 1.0, dim), type);
    Tensor idx = readout(rng, readouts, tokens);
    Tensor g = GradCheck.cast(GradCheck.random(rng, 1.0, readouts), type);
    GradContract.check(cpu, "score", GradCheck.contractTolerance(type),
        d -> cpu.scoreBackward(d[0], d[1], g, hidden, idx, w),
        GradContract.overwrite("dHidden", type, tokens, dim), GradContract.accumulate("dw", type, dim));
  }

  @Test
  void noReadoutsGiveZeroHiddenGrad() {
    Tensor hidden = Tensor.hostOf(new double[] {1, 2, 3, 4}, 2, 2);
    Tensor dHidden = Tensor.hostOf(new double[] {9, 9, 9, 9}, 2, 2);
    Tensor dw = Tensor.hostOf(new double[] {1, 1}, 2);
    Tensor none = Tensor.host(DType.I32, 0);
    cpu.scoreBackward(dHidden, dw, Tensor.host(DType.F64, 0), hidden, none, Tensor.hostOf(new double[] {1, 1}, 2));
    assertArrayEquals(new double[] {0, 0, 0, 0}, dHidden.toDoubleArray(), 0.0);
    assertArrayEquals(new double[] {1, 1}, dw.toDoubleArray(), 0.0);
  }


  @Test
  void badArgumentsAreRejected() {
    Tensor hidden = Tensor.host(DType.F64, 5, 3);
    Tensor w = Tensor.host(DType.F64, 3);
    Tensor rewards = Tensor.host(DType.F64, 2);
    RuntimeException outside = assertThrows(RuntimeException.class,
        () -> cpu.scoreForward(rewards, hidden, Tensor.hostOf(new int[] {4, 5}, 2), w));
    assertTrue(outside.getMessage().contains("readout[1] = 5"), outside.getMessage());
    RuntimeException negative = assertThrows(RuntimeException.class,
        () -> cpu.scoreBackward(Tensor.host(DType.F64, 5, 3), Tensor.host(DType.F64, 3), rewards, hidden,
            Tensor.hostOf(new int[] {-1, 0}, 2), w));
    assertTrue(negative.getMessage().contains("readout[0] = -1"), negative.getMessage());
    Tensor idx = Tensor.hostOf(new int[] {0, 1}, 2);
    assertThrows(IllegalArgumentException.class, () -> cpu.scoreForward(rewards, hidden, idx, Tensor.host(DType.F64, 4)));
    assertThrows(IllegalArgumentException.class, () -> cpu.scoreForward(Tensor.host(DType.F64, 3), hidden, idx, w));
    assertThrows(IllegalArgumentException.class, () -> cpu.scoreForward(rewards, hidden, Tensor.host(DType.F64, 2), w));
    assertThrows(IllegalArgumentException.class, () -> cpu.scoreForward(rewards, hidden, idx, Tensor.host(DType.F32, 3)));
    assertThrows(IllegalArgumentException.class,
        () -> cpu.scoreBackward(Tensor.host(DType.F64, 4, 3), Tensor.host(DType.F64, 3), rewards, hidden, idx, w));
  }
}
