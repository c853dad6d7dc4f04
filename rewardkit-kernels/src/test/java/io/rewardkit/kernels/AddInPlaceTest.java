package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * acc += x has no backward kernel (its gradient is the identity: the trainer passes the same gradient
 * to both branches), so this checks the forward exactly, in both dtypes, on views and above the
 * OpenMP threshold.
 */
class AddInPlaceTest {
  private final Backend cpu = new CpuBackend();

  @ParameterizedTest(name = "n={0}")
  @ValueSource(ints = {1, 7, 1000, 300_001})
  void addsElementwiseExactlyInBothDtypes(int n) {
    SplittableRandom rng = new SplittableRandom(n);
    Tensor acc = GradCheck.random(rng, 1.0, n);
    Tensor x = GradCheck.random(rng, 1.0, n);
    double[] expect = acc.toDoubleArray();
    for (int i = 0; i < n; i++) expect[i] += x.getDouble(i);
    Tensor acc32 = Tensor.hostOf(acc.toFloatArray(), n);
    Tensor x32 = Tensor.hostOf(x.toFloatArray(), n);
    cpu.addInPlace(acc, x);
    assertArrayEquals(expect, acc.toDoubleArray(), 0.0);  // one rounding, same as Java's
    float[] a32 = acc32.toFloatArray(), xf = x32.toFloatArray();
    cpu.addInPlace(acc32, x32);
    float[] got32 = acc32.toFloatArray();
    for (int i = 0; i < n; i++) {
      assertEquals(a32[i] + xf[i], got32[i], 0f);  // F32 path: exactly Java's float sum
      assertEquals(expect[i], got32[i], 3e-7);      // F32 vs F64: |sum| <= 2, three roundings of 2^-24 · 2
    }
  }

  @Test
  void worksOnViewsAndLeavesTheRestAlone() {
    Tensor acc = Tensor.hostOf(new double[] {1, 2, 3, 4, 5, 6}, 6);
    Tensor x = Tensor.hostOf(new double[] {10, 20, 30, 40}, 4);
    cpu.addInPlace(acc.view(2, 2, 1), x.view(1, 2, 1));
    assertArrayEquals(new double[] {1, 2, 23, 34, 5, 6}, acc.toDoubleArray(), 0.0);
    assertArrayEquals(new double[] {10, 20, 30, 40}, x.toDoubleArray(), 0.0);
  }

  /** The Backend contract for the op the trainer sums gradients with: acc accumulates. */
  @ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.EnumSource(value = DType.class, names = {"F64", "F32"})
  void accumulatesIntoAcc(DType type) {
    Tensor x = GradCheck.cast(GradCheck.random(new SplittableRandom(26), 1.0, 3, 29), type);
    GradContract.check(cpu, "addInPlace", GradCheck.contractTolerance(type), d -> cpu.addInPlace(d[0], x),
        GradContract.accumulate("acc", type, 3, 29));
  }

  @Test
  void badArgumentsAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> cpu.addInPlace(Tensor.host(DType.F64, 3), Tensor.host(DType.F64, 4)));
    assertThrows(IllegalArgumentException.class, () -> cpu.addInPlace(Tensor.host(DType.F64, 3), Tensor.host(DType.F32, 3)));
    assertThrows(IllegalArgumentException.class, () -> cpu.addInPlace(Tensor.host(DType.I32, 3), Tensor.host(DType.I32, 3)));
  }
}
