package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * JavaCPP properties shared by every CPU kernel binding: all op classes in this package
 * compile into one JNI library ({@code jnirewardkit_cpu}) linked against {@code librewardkit_cpu}.
 *
 * <p>Call {@link #load()} once before using any op class (each op class also loads on first use).
 *
 * <p>librewardkit_env is preloaded before libgomp: its constructor sets the thread environment libgomp and
 * OpenBLAS read when they load ({@code OMP_WAIT_POLICY=PASSIVE}, {@code OPENBLAS_NUM_THREADS=1}; see
 * {@link CpuThreads}). Load this class before OpenBLAS ({@link io.rewardkit.kernels.CpuBlas#load()} does).
 */
@Properties(value = @Platform(
    compiler = "cpp17",
    link = "rewardkit_cpu",
    preload = {"rewardkit_env", "gomp@.1"},
    library = "jnirewardkit_cpu"))
public final class RewardKitCpu {
  private RewardKitCpu() {}

  /** Loads the native CPU kernels; returns the path of the JNI library. */
  public static String load() {
    return Loader.load(RewardKitCpu.class);
  }
}
