package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.FunctionPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * Thread count of the CPU kernels: OpenMP (our kernels) and OpenBLAS (GEMMs; its
 * {@code openblas_set_num_threads} is looked up by symbol, the preset does not map it).
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/threads.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class CpuThreads {
  static { Loader.load(); }
  private CpuThreads() {}

  public static native int set_cpu_threads(int n);
  public static native int get_cpu_threads();

  /** {@code void (*)(int)}. */
  public static class IntConsumer extends FunctionPointer {
    static { Loader.load(); }
    public IntConsumer(Pointer p) { super(p); }
    protected IntConsumer() { allocate(); }
    private native void allocate();
    public native void call(int n);
    public native Pointer get();
    public native IntConsumer put(Pointer address);
  }

  /** Sets OpenMP and (when loaded) OpenBLAS thread counts for the calling thread; returns the OpenMP count. */
  public static int set(int n) {
    int omp = set_cpu_threads(n);
    Pointer address = Loader.addressof("openblas_set_num_threads");
    if (address != null) new IntConsumer().put(address).call(n);
    return omp;
  }
}
