package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * {@code rk::AdamWParams} (native/include/rewardkit/adamw.h), the one argument struct of the CPU and the CUDA
 * AdamW update (the CUDA binding takes this class too; its JNI lives in jnirewardkit_cpu). Fields are set by
 * name, so no two sizes or rates can be swapped by position.
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/adamw.h", library = "jnirewardkit_cpu"))
@Name("rk::AdamWParams")
public class AdamWParams extends Pointer {
  static { Loader.load(); }

  public AdamWParams() { super((Pointer) null); allocate(); }
  public AdamWParams(Pointer p) { super(p); }
  private native void allocate();

  public native @Cast("int64_t") long n(); public native AdamWParams n(long setter);
  public native double lr(); public native AdamWParams lr(double setter);
  public native double beta1(); public native AdamWParams beta1(double setter);
  public native double beta2(); public native AdamWParams beta2(double setter);
  public native double eps(); public native AdamWParams eps(double setter);
  public native double weight_decay(); public native AdamWParams weight_decay(double setter);
  public native double bias_correction1(); public native AdamWParams bias_correction1(double setter);
  public native double bias_correction2(); public native AdamWParams bias_correction2(double setter);
  public native double grad_scale(); public native AdamWParams grad_scale(double setter);

}
