package io.rewardkit.model;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Initial values of parameters: weight matrices, embedding and score ~ N(0, initializer_range²),
 * norm weights 1, biases 0 (HF's {@code _init_weights}). Each parameter draws from its own stream
 * keyed by (seed, name), so the values do not depend on parameter order.
 */
final class ParameterInit {
  private static final int CHUNK = 1 << 20;

  private final Backend be;
  private final DType dtype;

  ParameterInit(Backend be, DType dtype) {
    this.be = be;
    this.dtype = dtype;
  }

  /** Fills every parameter of {@code params} (laid out by {@code cfg}) with its initial value. */
  void initAll(ModelConfig cfg, ModelParameters params, long seed) {
    List<ModelParameters.Spec> specs = ModelParameters.specs(cfg);
    for (int i = 0; i < specs.size(); i++) {
      Parameter p = params.all.get(i);
      switch (specs.get(i).kind()) {
        case MATRIX, SCORE -> normal(p, cfg.initializerRange(), seed);
        case NORM -> constant(p, 1.0);
        case BIAS -> constant(p, 0.0);
      }
    }
  }

  /** N(0, std²) values from a stream keyed by (seed, parameter name). */
  void normal(Parameter p, double std, long seed) {
    SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + p.hfName().hashCode());
    Tensor w = p.weight().reshape(p.numel());
    long total = p.numel();
    for (long start = 0; start < total; start += CHUNK) {
      int n = (int) Math.min(CHUNK, total - start);
      double[] vals = new double[n];
      for (int i = 0; i < n; i++) vals[i] = rng.nextGaussian() * std;
      upload(w.view(start, n), vals);
    }
  }

  void constant(Parameter p, double value) {
    double[] vals = new double[Math.toIntExact(p.numel())];
    Arrays.fill(vals, value);
    upload(p.weight(), vals);
  }

  private void upload(Tensor dst, double[] vals) {
    if (dtype == DType.F64) {
      be.upload(dst, vals);
    } else {
      float[] f = new float[vals.length];
      for (int i = 0; i < f.length; i++) f[i] = (float) vals[i];
      be.upload(dst, f);
    }
  }
}
