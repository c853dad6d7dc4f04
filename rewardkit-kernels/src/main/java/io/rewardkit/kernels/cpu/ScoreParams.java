package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * {@code rk::ScoreParams} (native/include/rewardkit/score.h): the sizes struct the CPU and the CUDA score ops
 * both take (its JNI lives in jnirewardkit_cpu), set by name so tokens, dim and readouts cannot be swapped.
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/score.h", library = "jnirewardkit_cpu"))
@Name("rk::ScoreParams")
public class ScoreParams extends Pointer {
  static { Loader.load(); }

  public ScoreParams() { super((Pointer) null); allocate(); }
  public ScoreParams(Pointer p) { super(p); }
  private native void allocate();

  public native @Cast("int64_t") long tokens(); public native ScoreParams tokens(long setter);
  public native @Cast("int64_t") long dim(); public native ScoreParams dim(long setter);
  public native @Cast("int64_t") long readouts(); public native ScoreParams readouts(long setter);
}
