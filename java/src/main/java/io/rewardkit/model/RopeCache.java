package io.rewardkit.model;

/**
 * Rotary cos/sin tables for a config: [len, hd/2] each, row-major, as doubles (the model converts
 * them to its dtype). HF convention: inv_freq[i] = theta^(-2i/hd), angle = pos · inv_freq[i],
 * with llama3 frequency scaling when configured.
 */
final class RopeCache {
  private RopeCache() {}

  /** {cos, sin}, each [len · hd/2]. */
  static double[][] tables(ModelConfig cfg, int len) {
    int half = cfg.headDim() / 2;
    double[] invFreq = new double[half];
    for (int i = 0; i < half; i++) invFreq[i] = Math.pow(cfg.ropeTheta(), -2.0 * i / cfg.headDim());
    ModelConfig.RopeScaling rs = cfg.ropeScaling();
    if (rs != null) {
      double lowWavelen = rs.originalMaxPositionEmbeddings() / rs.lowFreqFactor();
      double highWavelen = rs.originalMaxPositionEmbeddings() / rs.highFreqFactor();
      for (int i = 0; i < half; i++) {
        double wavelen = 2 * Math.PI / invFreq[i];
        if (wavelen > lowWavelen) {
          invFreq[i] /= rs.factor();
        } else if (wavelen >= highWavelen) {
          double smooth = (rs.originalMaxPositionEmbeddings() / wavelen - rs.lowFreqFactor())
              / (rs.highFreqFactor() - rs.lowFreqFactor());
          invFreq[i] = (1 - smooth) * invFreq[i] / rs.factor() + smooth * invFreq[i];
        }
      }
    }
    double[] cos = new double[len * half];
    double[] sin = new double[len * half];
    for (int p = 0; p < len; p++) {
      for (int i = 0; i < half; i++) {
        double a = p * invFreq[i];
        cos[p * half + i] = Math.cos(a);
        sin[p * half + i] = Math.sin(a);
      }
    }
    return new double[][] {cos, sin};
  }
}
