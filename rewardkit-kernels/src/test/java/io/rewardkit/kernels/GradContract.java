package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.function.Consumer;

/**
 * The overwrite/accumulate contract of {@link Backend}'s backward ops, checked on any backend.
 *
 * <p>The op runs twice on the same inputs: once into zero-filled gradient buffers (giving "new", the
 * op's own contribution) and once into buffers pre-filled with known non-zero values ("prior"). Where
 * the contract says ACCUMULATE the second run must give prior + new, where it says OVERWRITE it must
 * give new. Prior values are ±(0.5 .. 1.25) in steps of 1/8 (exact in BF16), so breaking the contract
 * moves an element by at least 0.5, far above the rounding the tolerance allows for.
 */
public final class GradContract {
  private GradContract() {}

  public enum Mode { OVERWRITE, ACCUMULATE }

  /** One gradient buffer an op writes: the argument name, the contract for it, its dtype and shape. */
  public record Grad(String name, Mode mode, DType dtype, long[] shape) {}

  public static Grad overwrite(String name, DType dtype, long... shape) { return new Grad(name, Mode.OVERWRITE, dtype, shape); }

  public static Grad accumulate(String name, DType dtype, long... shape) { return new Grad(name, Mode.ACCUMULATE, dtype, shape); }

  /** The known value pre-filled at element k. */
  public static double prior(long k) {
    return (k % 2 == 0 ? 1 : -1) * (0.5 + (k % 7) / 8.0);
  }

  /**
   * Runs {@code backward} (which receives the gradient buffers in the order of {@code grads}) as above
   * and checks every element. Tolerance: relTol · (1 + max|new|), the rounding a dtype may add when the
   * kernel folds prior into its own sum (e.g. 1e-12 for F64, 1e-5 for F32 sums of a few hundred terms).
   */
  public static void check(Backend b, String op, double relTol, Consumer<Tensor[]> backward, Grad... grads) {
    Tensor[] fresh = new Tensor[grads.length];
    Tensor[] primed = new Tensor[grads.length];
    try {
      for (int i = 0; i < grads.length; i++) {
        fresh[i] = b.allocate(grads[i].dtype(), grads[i].shape());
        primed[i] = b.allocate(grads[i].dtype(), grads[i].shape());
        double[] p = new double[Math.toIntExact(primed[i].numel())];
        for (int k = 0; k < p.length; k++) p[k] = prior(k);
        b.upload(primed[i], p);
      }
      backward.accept(fresh);
      backward.accept(primed);
      b.synchronize();
      boolean wroteSomething = false;
      for (int i = 0; i < grads.length; i++) {
        Grad g = grads[i];
        double[] added = b.downloadDoubles(fresh[i]);
        double[] got = b.downloadDoubles(primed[i]);
        assertEquals(added.length, got.length, op + " " + g.name());
        double maxNew = 0;
        for (double a : added) {
          maxNew = Math.max(maxNew, Math.abs(a));
          wroteSomething |= a != 0;
        }
        double tol = relTol * (1 + maxNew);
        assertTrue(tol < 0.25, op + " " + g.name() + ": tolerance " + tol + " would hide a broken contract (priors are >= 0.5)");
        for (int k = 0; k < got.length; k++) {
          double expect = g.mode() == Mode.ACCUMULATE ? prior(k) + added[k] : added[k];
          if (!(Math.abs(got[k] - expect) <= tol)) {
            fail(String.format("%s %s: the Backend contract says %s, but element %d is %.9g (prior %.9g, op's own "
                    + "value %.9g, expected %.9g, tolerance %.3g)", op, g.name(), g.mode(), k, got[k], prior(k), added[k],
                expect, tol));
          }
        }
      }
      assertTrue(wroteSomething, op + ": the op wrote no non-zero gradient, so the contract check would prove nothing");
    } finally {
      for (int i = 0; i < grads.length; i++) {
        if (fresh[i] != null) fresh[i].close();
        if (primed[i] != null) primed[i].close();
      }
    }
  }
}
