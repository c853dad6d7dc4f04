package io.rewardkit.kernels.cuda;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/** Binding of {@code rewardkit/cuda/flash_attention.h} (varlen FlashAttention-2, device addresses). */
@Properties(inherit = RewardKitCuda.class,
    value = @Platform(include = "rewardkit/cuda/flash_attention.h", library = "jnirewardkit_cuda"))
@Namespace("rk::cuda")
public final class FlashAttention {
  static { Loader.load(); }
  private FlashAttention() {}

  public static native void flash_attention_forward(@Cast("rk::cuda::bf16_bits*") long o, @Cast("float*") long lse,
      @Cast("const rk::cuda::bf16_bits*") long q, @Cast("const rk::cuda::bf16_bits*") long k,
      @Cast("const rk::cuda::bf16_bits*") long v, @Cast("const int32_t*") long cuSeqlens,
      @Cast("const int32_t*") long seg, int numSeqs, int totalTokens, int maxSeqlen, int headsQ, int headsKv,
      int headDim, float scale, @Cast("void*") long stream);

  public static native @Cast("int64_t") long flash_attention_backward_workspace(int totalTokens, int headsQ,
      int headsKv, int headDim, int deterministic);

  public static native void flash_attention_backward(@Cast("rk::cuda::bf16_bits*") long dq,
      @Cast("rk::cuda::bf16_bits*") long dk, @Cast("rk::cuda::bf16_bits*") long dv,
      @Cast("const rk::cuda::bf16_bits*") long dout, @Cast("const rk::cuda::bf16_bits*") long q,
      @Cast("const rk::cuda::bf16_bits*") long k, @Cast("const rk::cuda::bf16_bits*") long v,
      @Cast("const rk::cuda::bf16_bits*") long o, @Cast("const float*") long lse, @Cast("void*") long workspace,
      @Cast("const int32_t*") long cuSeqlens, @Cast("const int32_t*") long seg, int numSeqs, int totalTokens,
      int maxSeqlen, int headsQ, int headsKv, int headDim, float scale, int deterministic, @Cast("void*") long stream);
}
