package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.ByRef;
import org.bytedeco.javacpp.annotation.Const;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * Token embedding gather/scatter: {@code out[t] = table[ids[t]]}, {@code dtable[ids[t]] += dout[t]}.
 * Shapes: out, dout {@code [tokens, dim]}; ids {@code [tokens]} (I32, in {@code [0, vocab)});
 * table, dtable {@code [vocab, dim]}. Backward accumulates into {@code dtable}, deterministically.
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/embedding.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class Embedding {
  static { Loader.load(); }
  private Embedding() {}

  public static native void embedding_forward(FloatPointer out, @Const IntPointer ids, @Const FloatPointer table,
      @Const @ByRef EmbeddingParams p);
  public static native void embedding_forward(DoublePointer out, @Const IntPointer ids, @Const DoublePointer table,
      @Const @ByRef EmbeddingParams p);

  public static native void embedding_backward(FloatPointer dtable, @Const FloatPointer dout, @Const IntPointer ids,
      @Const @ByRef EmbeddingParams p);
  public static native void embedding_backward(DoublePointer dtable, @Const DoublePointer dout, @Const IntPointer ids,
      @Const @ByRef EmbeddingParams p);
}
