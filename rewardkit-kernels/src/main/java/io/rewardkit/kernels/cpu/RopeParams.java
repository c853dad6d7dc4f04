package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * {@code rk::RopeParams} (native/include/rewardkit/rope.h): the sizes struct the CPU and the CUDA rotary ops both
 * take (its JNI lives in jnirewardkit_cpu), set by name so no two sizes can be swapped by position.
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/rope.h", library = "jnirewardkit_cpu"))
@Name("rk::RopeParams")
public class RopeParams extends Pointer {
  static { Loader.load(); }

  public RopeParams() { super((Pointer) null); allocate(); }
  public RopeParams(Pointer p) { super(p); }
  private native void allocate();

  public native @Cast("int64_t") long tokens(); public native RopeParams tokens(long setter);
  public native @Cast("int64_t") long heads(); public native RopeParams heads(long setter);
  public native @Cast("int64_t") long head_dim(); public native RopeParams head_dim(long setter);
  public native @Cast("int64_t") long max_pos(); public native RopeParams max_pos(long setter);
}
