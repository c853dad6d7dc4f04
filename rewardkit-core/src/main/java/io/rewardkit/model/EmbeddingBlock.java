package io.rewardkit.model;

import io.rewardkit.kernels.Backend;

/** Token embedding: the first residual stream is a row lookup of {@code model.embed_tokens}. */
final class EmbeddingBlock {
  private final Backend be;
  private final Parameter embed;  // [V, D]
  private final long d;

  EmbeddingBlock(ModelConfig cfg, Backend be, Parameter embed) {
    this.be = be;
    this.embed = embed;
    this.d = cfg.hiddenSize();
  }

  /** x(0)[T, D] = embed[ids[T]]. */
  void forward(Activations a, int t) {
    be.embeddingForward(Activations.rows(a.x(0), t, d), a.ids.view(0, t), embed.weight());
  }

  /** embed.grad[V, D] += scatter-add of dres[T, D] (dL/dx(0)) at ids[T]; nothing for a frozen embedding. */
  void backward(Activations a, int t) {
    if (embed.grad() == null) return;
    be.embeddingBackward(embed.grad(), Activations.rows(a.dres, t, d), a.ids.view(0, t));
  }
}
