package io.rewardkit.kernels;

import io.rewardkit.kernels.cpu.AdamWParams;
import io.rewardkit.kernels.cpu.BiasParams;
import io.rewardkit.kernels.cpu.EmbeddingParams;
import io.rewardkit.kernels.cpu.RmsNormParams;
import io.rewardkit.kernels.cpu.RopeParams;
import io.rewardkit.kernels.cpu.ScoreParams;

/**
 * The native params structs both backends pass to their ops (one struct per op family, defined in the op's
 * header under native/include/rewardkit and checked there by its {@code validate()}), built from tensor shapes in
 * one place. Fields are set by name; close a struct after the call.
 */
public final class OpParams {
  private OpParams() {}

  /** Embedding sizes: T from ids, V and D from the [V, D] table (or its gradient). */
  public static EmbeddingParams embedding(Tensor ids, Tensor table) {
    return new EmbeddingParams().tokens(ids.numel()).vocab(table.dim(0)).dim(table.dim(-1));
  }

  /** RMSNorm sizes: N rows of D (eps is used by the forward only). */
  public static RmsNormParams rmsnorm(long rows, long dim, double eps) {
    return new RmsNormParams().rows(rows).dim(dim).eps(eps).accumulate(false);
  }

  /** RMSNorm backward sizes, with dx overwritten ({@code accumulate} false) or added to. */
  public static RmsNormParams rmsnormBackward(long rows, long dim, boolean accumulate) {
    return rmsnorm(rows, dim, 0).accumulate(accumulate);
  }

  /** Rotary sizes: x [T, H, hd], tables [maxPos, hd/2]. */
  public static RopeParams rope(long tokens, long heads, long headDim, long maxPos) {
    return new RopeParams().tokens(tokens).heads(heads).head_dim(headDim).max_pos(maxPos);
  }

  /** Linear-bias sizes: N rows of O output features. */
  public static BiasParams bias(long rows, long cols) {
    return new BiasParams().rows(rows).cols(cols);
  }

  /** One AdamW call over n elements (bias corrections formed here, in double). */
  public static AdamWParams adamw(long n, Backend.AdamWStep s) {
    return new AdamWParams().n(n).lr(s.lr()).beta1(s.beta1()).beta2(s.beta2()).eps(s.eps())
        .weight_decay(s.weightDecay()).bias_correction1(s.biasCorrection1()).bias_correction2(s.biasCorrection2())
        .grad_scale(s.gradScale());
  }

  /** Score-head sizes: T tokens of hidden [T, D], R readouts. */
  public static ScoreParams score(long tokens, long dim, long readouts) {
    return new ScoreParams().tokens(tokens).dim(dim).readouts(readouts);
  }
}
