package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * {@code rk::EmbeddingParams} (native/include/rewardkit/embedding.h): the sizes struct the CPU and the CUDA
 * embedding ops both take (its JNI lives in jnirewardkit_cpu), set by name so vocab and dim cannot be swapped.
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/embedding.h", library = "jnirewardkit_cpu"))
@Name("rk::EmbeddingParams")
public class EmbeddingParams extends Pointer {
  static { Loader.load(); }

  public EmbeddingParams() { super((Pointer) null); allocate(); }
  public EmbeddingParams(Pointer p) { super(p); }
  private native void allocate();

  public native @Cast("int64_t") long tokens(); public native EmbeddingParams tokens(long setter);
  public native @Cast("int64_t") long vocab(); public native EmbeddingParams vocab(long setter);
  public native @Cast("int64_t") long dim(); public native EmbeddingParams dim(long setter);
}
