package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * Fused LM head + log-softmax gather ({@code rewardkit/linear_cross_entropy.h}): per-token log-probs of the
 * targets without the {@code [tokens, vocab]} logits. Shapes: logp, lse, dlogp, targets {@code [tokens]};
 * hidden, dhidden {@code [tokens, dim]}; weight, dweight {@code [vocab, dim]}. A negative target is ignored.
 * Backward overwrites {@code dhidden} and accumulates into {@code dweight}. Chunk sizes {@code <= 0}: defaults.
 */
@Properties(inherit = RewardKitCpu.class,
    value = @Platform(include = "rewardkit/linear_cross_entropy.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class LinearCrossEntropy {
  static { Loader.load(); }
  private LinearCrossEntropy() {}

  public static native void linear_cross_entropy_forward(FloatPointer logp, FloatPointer lse, @Const FloatPointer hidden,
      @Const FloatPointer weight, @Const IntPointer targets, @Cast("int64_t") long tokens, @Cast("int64_t") long dim,
      @Cast("int64_t") long vocab, @Cast("int64_t") long tokenChunk, @Cast("int64_t") long vocabChunk);
  public static native void linear_cross_entropy_forward(DoublePointer logp, DoublePointer lse,
      @Const DoublePointer hidden, @Const DoublePointer weight, @Const IntPointer targets, @Cast("int64_t") long tokens,
      @Cast("int64_t") long dim, @Cast("int64_t") long vocab, @Cast("int64_t") long tokenChunk,
      @Cast("int64_t") long vocabChunk);

  public static native void linear_cross_entropy_backward(FloatPointer dhidden, FloatPointer dweight,
      @Const FloatPointer dlogp, @Const FloatPointer lse, @Const FloatPointer hidden, @Const FloatPointer weight,
      @Const IntPointer targets, @Cast("int64_t") long tokens, @Cast("int64_t") long dim, @Cast("int64_t") long vocab,
      @Cast("int64_t") long tokenChunk, @Cast("int64_t") long vocabChunk);
  public static native void linear_cross_entropy_backward(DoublePointer dhidden, DoublePointer dweight,
      @Const DoublePointer dlogp, @Const DoublePointer lse, @Const DoublePointer hidden, @Const DoublePointer weight,
      @Const IntPointer targets, @Cast("int64_t") long tokens, @Cast("int64_t") long dim, @Cast("int64_t") long vocab,
      @Cast("int64_t") long tokenChunk, @Cast("int64_t") long vocabChunk);
}
