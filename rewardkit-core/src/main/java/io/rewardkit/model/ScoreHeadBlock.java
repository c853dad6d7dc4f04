package io.rewardkit.model;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Tensor;

/**
 * The readout: {@code model.norm} over the last residual stream, then {@code score.weight · row} at
 * each readout token. The norm runs over all T rows (T·D, negligible) so the score kernel does the
 * readout gather.
 */
final class ScoreHeadBlock {
  private final Backend be;
  private final Parameter finalNorm;  // [D]
  private Parameter score;            // [1, D]
  private final int layers;
  private final long d;
  private final double eps;

  private final LinearPath lin;

  ScoreHeadBlock(ModelConfig cfg, Backend be, Parameter finalNorm, Parameter score, LinearPath lin) {
    this.be = be;
    this.lin = lin;
    this.finalNorm = finalNorm;
    this.score = score;
    this.layers = cfg.numHiddenLayers();
    this.d = cfg.hiddenSize();
    this.eps = cfg.rmsNormEps();
  }

  void rebind(Parameter score) { this.score = score; }

  /** rewards[R] = score · rmsnorm(x(L))[readout[R]]; keeps xNorm [T, D] and rstdF [T] for backward. */
  Tensor forward(Activations a, int t, int r) {
    Tensor xL = Activations.rows(a.x(layers), t, d);
    Tensor xNorm = Activations.rows(a.xNorm, t, d);
    be.rmsnormForward(xNorm, a.rstdF.view(0, t), xL, finalNorm.weight(), eps);
    Tensor rewards = a.rewards.view(0, r);
    if (r > 0) be.scoreForward(rewards, xNorm, a.readout.view(0, r), score.weight().reshape(d));
    return rewards;
  }

  /**
   * From dRewards [R]: accumulates score and final-norm grads and overwrites dres [T, D] with
   * dL/dx(L) (uses dtmp [T, D] as scratch).
   */
  void backward(Activations a, int t, int r, Tensor dRewards) {
    Tensor xL = Activations.rows(a.x(layers), t, d);
    Tensor xNorm = Activations.rows(a.xNorm, t, d);
    Tensor dres = Activations.rows(a.dres, t, d);
    Tensor dtmp = Activations.rows(a.dtmp, t, d);
    if (r > 0) {
      be.scoreBackward(dtmp, score.grad().reshape(d), dRewards.reshape(r), xNorm, a.readout.view(0, r), score.weight().reshape(d));
    } else {
      be.zero(dtmp);
    }
    be.rmsnormBackward(dres, lin.normGrad(finalNorm), dtmp, xL, finalNorm.weight(), a.rstdF.view(0, t));
  }

  /**
   * For another head on the normed states (a policy's LM head): from dXNorm [T, D] = dL/dxNorm, accumulates the
   * final-norm grads and overwrites dres [T, D] with dL/dx(L); the score head is not involved.
   */
  void backwardNormed(Activations a, int t, Tensor dXNorm) {
    Tensor xL = Activations.rows(a.x(layers), t, d);
    Tensor dres = Activations.rows(a.dres, t, d);
    be.rmsnormBackward(dres, lin.normGrad(finalNorm), dXNorm, xL, finalNorm.weight(), a.rstdF.view(0, t));  // frozen: sink
  }
}
