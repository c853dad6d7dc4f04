package io.rewardkit.kernels.cuda;

import io.rewardkit.kernels.cpu.AdamWParams;
import io.rewardkit.kernels.cpu.BiasParams;
import io.rewardkit.kernels.cpu.EmbeddingParams;
import io.rewardkit.kernels.cpu.RmsNormParams;
import io.rewardkit.kernels.cpu.RopeParams;
import io.rewardkit.kernels.cpu.ScoreParams;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.ByRef;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * Binding of {@code rewardkit/cuda/ops.h}. Every pointer argument is a device address; shapes are
 * documented in the header. bf16 buffers hold raw bf16 bits; parameter grads, rstd, rewards and
 * optimizer state are fp32. The stream is the backend's compute stream.
 */
@Properties(inherit = RewardKitCuda.class, value = @Platform(include = "rewardkit/cuda/ops.h", library = "jnirewardkit_cuda"))
@Namespace("rk::cuda")
public final class CudaOps {
  static { Loader.load(); }
  private CudaOps() {}

  public static native int column_reduce_chunks();

  public static native void f32_to_bf16(@Cast("rk::cuda::bf16_bits*") long out, @Cast("const float*") long in,
      @Cast("int64_t") long n, @Cast("void*") long stream);
  public static native void bf16_to_f32(@Cast("float*") long out, @Cast("const rk::cuda::bf16_bits*") long in,
      @Cast("int64_t") long n, @Cast("void*") long stream);

  public static native void embedding_forward(@Cast("rk::cuda::bf16_bits*") long out, @Cast("const int32_t*") long ids,
      @Cast("const rk::cuda::bf16_bits*") long table, @Const @ByRef EmbeddingParams p, @Cast("void*") long stream);
  public static native void embedding_backward(@Cast("float*") long dtable, @Cast("const rk::cuda::bf16_bits*") long dout,
      @Cast("const int32_t*") long ids, @Const @ByRef EmbeddingParams p, @Cast("void*") long stream);

  public static native void rmsnorm_forward(@Cast("rk::cuda::bf16_bits*") long out, @Cast("float*") long rstd,
      @Cast("const rk::cuda::bf16_bits*") long x, @Cast("const rk::cuda::bf16_bits*") long w,
      @Const @ByRef RmsNormParams p, @Cast("void*") long stream);
  public static native void residual_rmsnorm_forward(@Cast("rk::cuda::bf16_bits*") long y,
      @Cast("rk::cuda::bf16_bits*") long out, @Cast("float*") long rstd, @Cast("const rk::cuda::bf16_bits*") long x,
      @Cast("const rk::cuda::bf16_bits*") long delta, @Cast("const rk::cuda::bf16_bits*") long w,
      @Const @ByRef RmsNormParams p, @Cast("void*") long stream);
  public static native void rmsnorm_backward(@Cast("rk::cuda::bf16_bits*") long dx, @Cast("float*") long dw,
      @Cast("const rk::cuda::bf16_bits*") long dout, @Cast("const rk::cuda::bf16_bits*") long x,
      @Cast("const rk::cuda::bf16_bits*") long w, @Cast("const float*") long rstd, @Cast("float*") long workspace,
      @Const @ByRef RmsNormParams p, @Cast("void*") long stream);

  public static native void rope_apply_f32(@Cast("rk::cuda::bf16_bits*") long x, @Cast("const int32_t*") long positions,
      @Cast("const float*") long cos, @Cast("const float*") long sin, @Const @ByRef RopeParams p, int inverse,
      @Cast("void*") long stream);
  public static native void rope_apply_bf16(@Cast("rk::cuda::bf16_bits*") long x, @Cast("const int32_t*") long positions,
      @Cast("const rk::cuda::bf16_bits*") long cos, @Cast("const rk::cuda::bf16_bits*") long sin,
      @Const @ByRef RopeParams p, int inverse, @Cast("void*") long stream);

  public static native void swiglu_forward(@Cast("rk::cuda::bf16_bits*") long out, @Cast("const rk::cuda::bf16_bits*") long gate,
      @Cast("const rk::cuda::bf16_bits*") long up, @Cast("int64_t") long n, @Cast("void*") long stream);
  public static native void swiglu_backward(@Cast("rk::cuda::bf16_bits*") long dgate, @Cast("rk::cuda::bf16_bits*") long dup,
      @Cast("const rk::cuda::bf16_bits*") long dout, @Cast("const rk::cuda::bf16_bits*") long gate,
      @Cast("const rk::cuda::bf16_bits*") long up, @Cast("int64_t") long n, @Cast("void*") long stream);

  public static native void add_out_bf16(@Cast("rk::cuda::bf16_bits*") long out, @Cast("const rk::cuda::bf16_bits*") long a,
      @Cast("const rk::cuda::bf16_bits*") long b, @Cast("int64_t") long n, @Cast("void*") long stream);
  public static native void add_out_f32(@Cast("float*") long out, @Cast("const float*") long a,
      @Cast("const float*") long b, @Cast("int64_t") long n, @Cast("void*") long stream);

  public static native void bias_add_forward(@Cast("rk::cuda::bf16_bits*") long out, @Cast("const rk::cuda::bf16_bits*") long bias,
      @Const @ByRef BiasParams p, @Cast("void*") long stream);
  public static native void bias_add_backward(@Cast("float*") long dbias, @Cast("const rk::cuda::bf16_bits*") long dout,
      @Cast("float*") long workspace, @Const @ByRef BiasParams p, @Cast("void*") long stream);

  public static native void score_forward(@Cast("float*") long rewards, @Cast("const rk::cuda::bf16_bits*") long hidden,
      @Cast("const int32_t*") long readout, @Cast("const rk::cuda::bf16_bits*") long w, @Const @ByRef ScoreParams p,
      @Cast("void*") long stream);
  public static native void score_backward(@Cast("rk::cuda::bf16_bits*") long dhidden, @Cast("float*") long dw,
      @Cast("const float*") long drewards, @Cast("const rk::cuda::bf16_bits*") long hidden,
      @Cast("const int32_t*") long readout, @Cast("const rk::cuda::bf16_bits*") long w, @Const @ByRef ScoreParams p,
      @Cast("void*") long stream);

  public static native int grad_norm_blocks();
  /** out F64 [1] = Σ g² over grads F32 [n]; partials F64 [grad_norm_blocks()]. */
  public static native void grad_sumsq(@Cast("double*") long out, @Cast("double*") long partials,
      @Cast("const float*") long grads, @Cast("int64_t") long n, @Cast("void*") long stream);
  /** One optimizer group: master, m, v F32 [p.n] in place, grad F32 [p.n], weights BF16 [p.n] = bf16(master). */
  public static native void adamw_update(@Cast("float*") long master, @Cast("rk::cuda::bf16_bits*") long weights,
      @Cast("const float*") long grad, @Cast("float*") long m, @Cast("float*") long v,
      @Const @ByRef AdamWParams p, @Cast("void*") long stream);

  public static native void nf4_dequantize_bf16(@Cast("rk::cuda::bf16_bits*") long out, @Cast("const uint8_t*") long packed,
      @Cast("const uint8_t*") long qabsmax, @Cast("const float*") long absmax2, float offset, @Cast("int64_t") long n,
      @Cast("void*") long stream);
}
