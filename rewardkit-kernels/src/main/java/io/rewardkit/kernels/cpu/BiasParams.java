package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * {@code rk::BiasParams} (native/include/rewardkit/bias.h): the sizes struct the CPU and the CUDA bias ops both
 * take (its JNI lives in jnirewardkit_cpu), set by name so no two sizes can be swapped by position.
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/bias.h", library = "jnirewardkit_cpu"))
@Name("rk::BiasParams")
public class BiasParams extends Pointer {
  static { Loader.load(); }

  public BiasParams() { super((Pointer) null); allocate(); }
  public BiasParams(Pointer p) { super(p); }
  private native void allocate();

  public native @Cast("int64_t") long rows(); public native BiasParams rows(long setter);
  public native @Cast("int64_t") long cols(); public native BiasParams cols(long setter);
}
