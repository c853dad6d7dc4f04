package io.rewardkit.kernels.cuda;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/** Binding of {@code rewardkit/cuda/linear_cross_entropy.h} (fused LM head + log-softmax gather on device buffers). */
@Properties(inherit = RewardKitCuda.class,
    value = @Platform(include = "rewardkit/cuda/linear_cross_entropy.h", library = "jnirewardkit_cuda"))
@Namespace("rk::cuda")
public final class CudaLinearCrossEntropy {
  static { Loader.load(); }
  private CudaLinearCrossEntropy() {}

  public static native @Cast("int64_t") long linear_cross_entropy_workspace_floats(@Cast("int64_t") long dim,
      @Cast("int64_t") long tokenChunk, @Cast("int64_t") long vocabChunk);

  public static native void linear_cross_entropy_forward(@Cast("float*") long logp, @Cast("float*") long lse,
      @Cast("const rk::cuda::bf16_bits*") long hidden, @Cast("const rk::cuda::bf16_bits*") long weight,
      @Cast("const int32_t*") long targets, @Cast("float*") long workspace, @Cast("int64_t") long tokens,
      @Cast("int64_t") long dim, @Cast("int64_t") long vocab, @Cast("int64_t") long tokenChunk,
      @Cast("int64_t") long vocabChunk, @Cast("void*") long stream);

  public static native void linear_cross_entropy_backward(@Cast("rk::cuda::bf16_bits*") long dhidden,
      @Cast("float*") long dweight, @Cast("const float*") long dlogp, @Cast("const float*") long lse,
      @Cast("const rk::cuda::bf16_bits*") long hidden, @Cast("const rk::cuda::bf16_bits*") long weight,
      @Cast("const int32_t*") long targets, @Cast("float*") long workspace, @Cast("int64_t") long tokens,
      @Cast("int64_t") long dim, @Cast("int64_t") long vocab, @Cast("int64_t") long tokenChunk,
      @Cast("int64_t") long vocabChunk, @Cast("void*") long stream);
}
