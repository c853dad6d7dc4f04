package io.rewardkit.kernels.cuda;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * JavaCPP properties shared by the CUDA bindings: every class in this package compiles into one JNI
 * library ({@code jnirewardkit_cuda}) linked against {@code librewardkit_cuda}, which always exists
 * (real kernels with a statically linked CUDA runtime, or the no-nvcc fallback). Loading it never
 * needs a driver; it does not touch Bytedeco's CUDA classes.
 */
@Properties(value = @Platform(
    compiler = "cpp17",
    link = "rewardkit_cuda",
    library = "jnirewardkit_cuda"))
public final class RewardKitCuda {
  private RewardKitCuda() {}

  /** Loads the CUDA kernel library; returns the path of the JNI library. */
  public static String load() {
    return Loader.load(RewardKitCuda.class);
  }
}
