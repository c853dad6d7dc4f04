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
 * Scalar reward head: {@code rewards[r] = hidden[readout[r]] · w}. Shapes: rewards, drewards {@code [readouts]};
 * hidden, dhidden {@code [tokens, dim]}; readout {@code [readouts]} (I32, in {@code [0, tokens)});
 * w, dw {@code [dim]}. Backward overwrites {@code dhidden} and accumulates into {@code dw}.
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(include = "rewardkit/score.h", library = "jnirewardkit_cpu"))
@Namespace("rk")
public final class Score {
  static { Loader.load(); }
  private Score() {}

  public static native void score_forward(FloatPointer rewards, @Const FloatPointer hidden, @Const IntPointer readout,
      @Const FloatPointer w, @Const @ByRef ScoreParams p);
  public static native void score_forward(DoublePointer rewards, @Const DoublePointer hidden, @Const IntPointer readout,
      @Const DoublePointer w, @Const @ByRef ScoreParams p);

  public static native void score_backward(FloatPointer dhidden, FloatPointer dw, @Const FloatPointer drewards,
      @Const FloatPointer hidden, @Const IntPointer readout, @Const FloatPointer w, @Const @ByRef ScoreParams p);
  public static native void score_backward(DoublePointer dhidden, DoublePointer dw, @Const DoublePointer drewards,
      @Const DoublePointer hidden, @Const IntPointer readout, @Const DoublePointer w, @Const @ByRef ScoreParams p);
}
