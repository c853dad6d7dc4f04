package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;

/**
 * Float64 central finite differences for op tests.
 *
 * <p>Usage: write the op's forward as a scalar loss L = Σ g ⊙ f(x) for a fixed random g (so the
 * analytic gradient is the op's backward applied to g), then compare the analytic gradient of each
 * input with (L(x + h e_i) − L(x − h e_i)) / 2h. In float64 with h = 1e-6 the truncation error is
 * O(h²) and the rounding error O(ε/h) ≈ 1e-10, so 1e-6 relative agreement is a real check.
 */
public final class GradCheck {
  private GradCheck() {}

  public static final double STEP = 1e-6;
  public static final double TOLERANCE = 1e-6;

  /** A tensor of F64 values uniform in [-scale, scale). */
  public static Tensor random(SplittableRandom rng, double scale, long... shape) {
    Tensor t = Tensor.host(DType.F64, shape);
    for (long i = 0; i < t.numel(); i++) t.setDouble(i, (rng.nextDouble() * 2 - 1) * scale);
    return t;
  }

  /** The same values in {@code type} (F64 as is, F32 rounded), for tests that run both dtypes. */
  public static Tensor cast(Tensor f64, DType type) {
    return type == DType.F64 ? f64 : Tensor.hostOf(f64.toFloatArray(), f64.shape());
  }

  /**
   * {@link GradContract} tolerance on the CPU backend: a kernel that folds the prior into its own sum
   * rounds differently from prior + (its sum alone), by a few units of the dtype's roundoff times the
   * magnitudes (up to a few hundred terms of size ~1 here): 1e-12 in F64, 1e-5 in F32.
   */
  public static double contractTolerance(DType type) { return type == DType.F64 ? 1e-12 : 1e-5; }

  /** Σ g ⊙ y over all elements (the scalar loss whose gradient wrt y is g). */
  public static double dot(Tensor g, Tensor y) {
    double s = 0;
    for (long i = 0; i < y.numel(); i++) s += g.getDouble(i) * y.getDouble(i);
    return s;
  }

  /**
   * Checks {@code analytic} (the gradient of {@code loss} with respect to {@code input}) against
   * central differences over every element of {@code input}, or a random subset of at most
   * {@code maxProbes} elements. The loss must recompute from the current contents of input.
   */
  public static void check(String what, Tensor input, Tensor analytic, DoubleSupplier loss, int maxProbes, long seed) {
    long n = input.numel();
    SplittableRandom rng = new SplittableRandom(seed);
    int probes = (int) Math.min(n, maxProbes);
    double worst = 0;
    String worstAt = "";
    for (int p = 0; p < probes; p++) {
      long i = probes == n ? p : rng.nextLong(n);
      double x0 = input.getDouble(i);
      input.setDouble(i, x0 + STEP);
      double up = loss.getAsDouble();
      input.setDouble(i, x0 - STEP);
      double down = loss.getAsDouble();
      input.setDouble(i, x0);
      double numeric = (up - down) / (2 * STEP);
      double a = analytic.getDouble(i);
      double err = Math.abs(a - numeric) / Math.max(1.0, Math.abs(numeric));
      if (err > worst) {
        worst = err;
        worstAt = "element " + i + ": analytic " + a + ", numeric " + numeric;
      }
    }
    assertTrue(worst <= TOLERANCE, what + ": gradient mismatch " + worst + " at " + worstAt);
  }
}
