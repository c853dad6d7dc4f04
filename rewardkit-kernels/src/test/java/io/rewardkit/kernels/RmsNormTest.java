package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class RmsNormTest {
  private final Backend cpu = new CpuBackend();

  @ParameterizedTest(name = "rows={0} dim={1}")
  @CsvSource({"1,1", "3,7", "5,64", "2,128", "9,80"})
  void backwardMatchesFiniteDifferences(int rows, int dim) {
    SplittableRandom rng = new SplittableRandom(rows * 1000L + dim);
    Tensor x = GradCheck.random(rng, 1.0, rows, dim);
    Tensor w = GradCheck.random(rng, 1.0, dim);
    Tensor g = GradCheck.random(rng, 1.0, rows, dim);
    Tensor out = Tensor.host(DType.F64, rows, dim);
    Tensor rstd = Tensor.host(DType.F64, rows);
    double eps = 1e-6;

    cpu.rmsnormForward(out, rstd, x, w, eps);
    Tensor dx = Tensor.host(DType.F64, rows, dim);
    Tensor dw = Tensor.host(DType.F64, dim);
    cpu.rmsnormBackward(dx, dw, g, x, w, rstd);

    Runnable fwd = () -> cpu.rmsnormForward(out, rstd, x, w, eps);
    GradCheck.check("rmsnorm dx", x, dx, () -> { fwd.run(); return GradCheck.dot(g, out); }, 200, 1);
    GradCheck.check("rmsnorm dw", w, dw, () -> { fwd.run(); return GradCheck.dot(g, out); }, 200, 2);
  }

  @Test
  void forwardMatchesDefinitionAndFloatPath() {
    SplittableRandom rng = new SplittableRandom(7);
    int rows = 4, dim = 33;
    Tensor x = GradCheck.random(rng, 3.0, rows, dim);
    Tensor w = GradCheck.random(rng, 1.0, dim);
    Tensor out = Tensor.host(DType.F64, rows, dim);
    Tensor rstd = Tensor.host(DType.F64, rows);
    cpu.rmsnormForward(out, rstd, x, w, 1e-5);
    Tensor out32 = Tensor.hostOf(toFloat(x), rows, dim);
    Tensor y32 = Tensor.host(DType.F32, rows, dim);
    cpu.rmsnormForward(y32, Tensor.host(DType.F32, rows), out32, Tensor.hostOf(toFloat(w), dim), 1e-5);
    for (int r = 0; r < rows; r++) {
      double ss = 0;
      for (int i = 0; i < dim; i++) ss += x.getDouble(r * dim + i) * x.getDouble(r * dim + i);
      double s = 1 / Math.sqrt(ss / dim + 1e-5);
      for (int i = 0; i < dim; i++) {
        double expect = x.getDouble(r * dim + i) * s * w.getDouble(i);
        assertEquals(expect, out.getDouble(r * dim + i), 1e-12);
        assertEquals(expect, y32.getDouble(r * dim + i), 1e-5 * Math.max(1, Math.abs(expect)));
      }
    }
  }

  /** Backend contract: dx overwritten, dw accumulated (the trainer sums micro-batches in dw). */
  @ParameterizedTest(name = "{0}")
  @EnumSource(value = DType.class, names = {"F64", "F32"})
  void backwardOverwritesDxAndAccumulatesDw(DType type) {
    SplittableRandom rng = new SplittableRandom(21);
    int rows = 5, dim = 33;
    Tensor x = GradCheck.cast(GradCheck.random(rng, 1.0, rows, dim), type);
    Tensor w = GradCheck.cast(GradCheck.random(rng, 1.0, dim), type);
    Tensor g = GradCheck.cast(GradCheck.random(rng, 1.0, rows, dim), type);
    Tensor rstd = Tensor.host(type, rows);
    cpu.rmsnormForward(Tensor.host(type, rows, dim), rstd, x, w, 1e-6);
    GradContract.check(cpu, "rmsnorm", GradCheck.contractTolerance(type),
        d -> cpu.rmsnormBackward(d[0], d[1], g, x, w, rstd),
        GradContract.overwrite("dx", type, rows, dim), GradContract.accumulate("dw", type, dim));
  }

  @Test
  void badArgumentsAreRejected() {
    Tensor x = Tensor.host(DType.F64, 2, 4);
    Tensor w = Tensor.host(DType.F64, 3);
    assertThrows(IllegalArgumentException.class,
        () -> cpu.rmsnormForward(Tensor.host(DType.F64, 2, 4), Tensor.host(DType.F64, 2), x, w, 1e-6));
    assertThrows(IllegalArgumentException.class,
        () -> cpu.rmsnormForward(Tensor.host(DType.F32, 2, 4), Tensor.host(DType.F64, 2), x, Tensor.host(DType.F64, 4), 1e-6));
  }

  private static float[] toFloat(Tensor t) { return t.toFloatArray(); }
}
