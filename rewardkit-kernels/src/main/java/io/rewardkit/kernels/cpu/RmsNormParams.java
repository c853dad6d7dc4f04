package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * {@code rk::RmsNormParams} (native/include/rewardkit/rmsnorm.h): the sizes struct the CPU and the CUDA RMSNorm ops both
 * take (its JNI lives in jnirewardkit_cpu), set by name so no two sizes can be swapped by position.
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/rmsnorm.h", library = "jnirewardkit_cpu"))
@Name("rk::RmsNormParams")
public class RmsNormParams extends Pointer {
  static { Loader.load(); }

  public RmsNormParams() { super((Pointer) null); allocate(); }
  public RmsNormParams(Pointer p) { super(p); }
  private native void allocate();

  public native @Cast("int64_t") long rows(); public native RmsNormParams rows(long setter);
  public native @Cast("int64_t") long dim(); public native RmsNormParams dim(long setter);
  public native double eps(); public native RmsNormParams eps(double setter);
  public native @Cast("bool") boolean accumulate(); public native RmsNormParams accumulate(boolean setter);
}
