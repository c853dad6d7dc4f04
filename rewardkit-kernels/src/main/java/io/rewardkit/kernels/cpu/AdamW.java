package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.ByRef;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/** AdamW update of one optimizer group's fp32 arenas in place; see {@code native/include/rewardkit/adamw.h}. All buffers {@code [p.n]}. */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/adamw.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class AdamW {
  static { Loader.load(); }
  private AdamW() {}

  public static native void adamw_update(FloatPointer master, @Const FloatPointer grad, FloatPointer m, FloatPointer v,
      @Const @ByRef AdamWParams p);
}
