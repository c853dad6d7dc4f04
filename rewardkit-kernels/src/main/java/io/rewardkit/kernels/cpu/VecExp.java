package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * The CPU kernels' vectorised float exp ({@code rewardkit/vec_exp.h}): {@code y[i] = e^x[i]} in one of
 * its encodings ({@link #SCALAR}, {@link #AVX2}, {@link #AVX512}, or {@link #AUTO}: the best this CPU
 * has, which is what attention and SwiGLU use). Exposed for tests and benchmarks.
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/vec_exp.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class VecExp {
  static { Loader.load(); }
  private VecExp() {}

  public static final int AUTO = -1, SCALAR = 0, AVX2 = 1, AVX512 = 2;

  /** Throws if the CPU or the build lacks {@code isa} (see {@link #vec_exp_isa_supported}). */
  public static native void vec_exp_f32_isa(FloatPointer y, @Const FloatPointer x, @Cast("int64_t") long n, int isa);
  @Cast("bool") public static native boolean vec_exp_isa_supported(int isa);
  /** The encoding {@link #AUTO} resolves to on this CPU. */
  public static native int vec_exp_best_isa();
}
