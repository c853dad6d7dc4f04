package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;
import org.bytedeco.javacpp.annotation.StdString;

/**
 * Thread count of the CPU kernels. There is one pool: OpenMP's. Our kernels and the GEMMs (striped over OpenMP
 * threads, each stripe a single-threaded OpenBLAS call: {@link Gemm}) both run on it; OpenBLAS itself always
 * runs on one thread ({@code OPENBLAS_NUM_THREADS=1}, set by librewardkit_env before OpenBLAS loads), and idle
 * OpenMP workers sleep ({@code OMP_WAIT_POLICY=PASSIVE} unless the user set a wait policy).
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/threads.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class CpuThreads {
  static { Loader.load(); }
  private CpuThreads() {}

  public static native int set_cpu_threads(int n);
  public static native int get_cpu_threads();
  public static native @StdString String env_value(@StdString String name);
  public static native long idle_worker_cpu_ns(int idleMs);

  /** Sets the OpenMP thread count (kernels and GEMM stripes) for the calling thread; returns the count in effect. */
  public static int set(int n) {
    return set_cpu_threads(n);
  }
}
