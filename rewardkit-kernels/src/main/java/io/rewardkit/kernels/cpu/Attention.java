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
 * Causal varlen attention with GQA and the shared-prefix segment rule (see
 * {@code rewardkit/attention.h}). Shapes: q, out, dout, dq {@code [T, Hq, hd]}; k, v, dk, dv
 * {@code [T, Hkv, hd]}; lse {@code [Hq, T]}; cuSeqlens I32 {@code [S + 1]}; segmentIds I32
 * {@code [T]} or null. Backward overwrites dq, dk, dv. Layout errors throw RuntimeException.
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/attention.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class Attention {
  static { Loader.load(); }
  private Attention() {}

  public static native void attention_forward(FloatPointer out, FloatPointer lse, @Const FloatPointer q,
      @Const FloatPointer k, @Const FloatPointer v, @Const IntPointer cuSeqlens, @Const IntPointer segmentIds,
      @Cast("int64_t") long numSeqs, @Cast("int64_t") long totalTokens, @Cast("int64_t") long maxSeqlen,
      @Cast("int64_t") long numQHeads, @Cast("int64_t") long numKvHeads, @Cast("int64_t") long headDim,
      double scale);
  public static native void attention_forward(DoublePointer out, DoublePointer lse, @Const DoublePointer q,
      @Const DoublePointer k, @Const DoublePointer v, @Const IntPointer cuSeqlens, @Const IntPointer segmentIds,
      @Cast("int64_t") long numSeqs, @Cast("int64_t") long totalTokens, @Cast("int64_t") long maxSeqlen,
      @Cast("int64_t") long numQHeads, @Cast("int64_t") long numKvHeads, @Cast("int64_t") long headDim,
      double scale);

  public static native void attention_backward(FloatPointer dq, FloatPointer dk, FloatPointer dv,
      @Const FloatPointer dout, @Const FloatPointer q, @Const FloatPointer k, @Const FloatPointer v,
      @Const FloatPointer out, @Const FloatPointer lse, @Const IntPointer cuSeqlens, @Const IntPointer segmentIds,
      @Cast("int64_t") long numSeqs, @Cast("int64_t") long totalTokens, @Cast("int64_t") long maxSeqlen,
      @Cast("int64_t") long numQHeads, @Cast("int64_t") long numKvHeads, @Cast("int64_t") long headDim,
      double scale);
  public static native void attention_backward(DoublePointer dq, DoublePointer dk, DoublePointer dv,
      @Const DoublePointer dout, @Const DoublePointer q, @Const DoublePointer k, @Const DoublePointer v,
      @Const DoublePointer out, @Const DoublePointer lse, @Const IntPointer cuSeqlens, @Const IntPointer segmentIds,
      @Cast("int64_t") long numSeqs, @Cast("int64_t") long totalTokens, @Cast("int64_t") long maxSeqlen,
      @Cast("int64_t") long numQHeads, @Cast("int64_t") long numKvHeads, @Cast("int64_t") long headDim,
      double scale);
}
