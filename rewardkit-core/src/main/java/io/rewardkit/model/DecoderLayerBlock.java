package io.rewardkit.model;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.kernels.VarlenLayout;

/**
 * One decoder layer, x(l) → x(l+1):
 * {@code input_layernorm → q/k/v proj (+bias) → [qwen3: per-head q_norm/k_norm] → rope → varlen causal
 * GQA attention → o_proj → +x → post_attention_layernorm → gate/up → swiglu → down → +}.
 * Backward recomputes the cheap normed inputs and the swiglu output instead of keeping them per layer.
 * The residual adds are fused into the ops around them (one pass over [T, D] each, bit-identical to the
 * separate copy/add/norm calls): +x with post_attention_layernorm ({@link Backend#residualRmsnormForward}), the
 * final + as a three-operand {@link Backend#add}, and in backward the residual gradient sums into each norm's
 * backward ({@link Backend#rmsnormBackward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, boolean) accumulateDx}).
 */
final class DecoderLayerBlock {
  private final Backend be;
  private final ModelParameters.Layer w;
  private final int layer;
  private final long d, f, hd;
  private final int hq, hkv;
  private final double eps;
  private final double scale;  // 1/sqrt(hd)
  private final boolean qkNorm;

  private final LinearPath lin;

  DecoderLayerBlock(ModelConfig cfg, Backend be, ModelParameters.Layer w, int layer, LinearPath lin) {
    this.be = be;
    this.lin = lin;
    this.w = w;
    this.layer = layer;
    this.d = cfg.hiddenSize();
    this.f = cfg.intermediateSize();
    this.hd = cfg.headDim();
    this.hq = cfg.numAttentionHeads();
    this.hkv = cfg.numKeyValueHeads();
    this.eps = cfg.rmsNormEps();
    this.scale = 1.0 / Math.sqrt(cfg.headDim());
    this.qkNorm = cfg.qkNorm();
  }

  /**
   * x(l+1)[T, D] from x(l)[T, D]; keeps this layer's slot (q, k, v, att, lse, xMid, gate, up, rstds)
   * for backward. cos/sin are the rotary tables [ropeLen, hd/2].
   */
  void forward(Activations a, int t, VarlenLayout layout, Tensor cos, Tensor sin) {
    forward(a, t, layout, cos, sin, false);
  }

  /**
   * Gradient checkpointing: refills this layer's slot from its saved input x(l) with the very ops of
   * {@link #forward}, stopping before down_proj (backward needs gate and up, not x(l+1)), so the
   * backward that follows sees bit-identical activations.
   */
  void recompute(Activations a, int t, VarlenLayout layout, Tensor cos, Tensor sin) {
    forward(a, t, layout, cos, sin, true);
  }

  private void forward(Activations a, int t, VarlenLayout layout, Tensor cos, Tensor sin, boolean recompute) {
    int s = a.slot(layer);
    Tensor pos = a.positions.view(0, t);
    Tensor ln = Activations.rows(a.ln, t, d);
    Tensor h = Activations.rows(a.h, t, f);
    Tensor tmp = Activations.rows(a.tmpD, t, d);
    Tensor xIn = Activations.rows(a.x(layer), t, d);
    Tensor xOut = Activations.rows(a.x(layer + 1), t, d);
    Tensor xMid = Activations.rows(a.xMid[s], t, d);
    Tensor q = Activations.rows(a.q[s], t, hq, hd);
    Tensor k = Activations.rows(a.k[s], t, hkv, hd);
    Tensor v = Activations.rows(a.v[s], t, hkv, hd);
    Tensor att = Activations.rows(a.att[s], t, hq, hd);

    // attention block
    be.rmsnormForward(ln, a.rstd1[s].view(0, t), xIn, w.inputNorm().weight(), eps);
    if (qkNorm) {
      Tensor qPre = Activations.rows(a.qPre[s], t, hq * hd);
      Tensor kPre = Activations.rows(a.kPre[s], t, hkv * hd);
      lin.forward(layer, LinearModule.Q_PROJ, qPre, ln, w.q(), w.qBias(), a.training);
      lin.forward(layer, LinearModule.K_PROJ, kPre, ln, w.k(), w.kBias(), a.training);
      // per-head norm: rows (token, head), dim hd
      be.rmsnormForward(q.reshape((long) t * hq, hd), a.rstdQ[s].view(0, (long) t * hq), qPre.reshape((long) t * hq, hd),
          w.qNorm().weight(), eps);
      be.rmsnormForward(k.reshape((long) t * hkv, hd), a.rstdK[s].view(0, (long) t * hkv), kPre.reshape((long) t * hkv, hd),
          w.kNorm().weight(), eps);
    } else {
      lin.forward(layer, LinearModule.Q_PROJ, q.reshape(t, hq * hd), ln, w.q(), w.qBias(), a.training);
      lin.forward(layer, LinearModule.K_PROJ, k.reshape(t, hkv * hd), ln, w.k(), w.kBias(), a.training);
    }
    lin.forward(layer, LinearModule.V_PROJ, v.reshape(t, hkv * hd), ln, w.v(), w.vBias(), a.training);
    be.ropeForward(q, pos, cos, sin);
    be.ropeForward(k, pos, cos, sin);
    be.attentionForward(att, a.lse[s].view(0, hq, t), q, k, v, layout, scale);
    lin.forward(layer, LinearModule.O_PROJ, tmp, att.reshape(t, hq * hd), w.o(), w.oBias(), a.training);

    // MLP block: xMid = xIn + tmp, ln = post_attention_layernorm(xMid), in one pass
    Tensor gate = Activations.rows(a.gate[s], t, f);
    Tensor up = Activations.rows(a.up[s], t, f);
    be.residualRmsnormForward(xMid, ln, a.rstd2[s].view(0, t), xIn, tmp, w.postNorm().weight(), eps);
    lin.forward(layer, LinearModule.GATE_PROJ, gate, ln, w.gate(), null, a.training);
    lin.forward(layer, LinearModule.UP_PROJ, up, ln, w.up(), null, a.training);
    if (recompute) return;
    be.swigluForward(h, gate, up);
    lin.forward(layer, LinearModule.DOWN_PROJ, tmp, h, w.down(), null, a.training);
    be.add(xOut, xMid, tmp);
  }

  /**
   * On entry dres [T, D] holds dL/dx(l+1); on exit dL/dx(l). Accumulates this layer's parameter
   * grads; ln, h, dtmp, dln, dq, dk, dv, datt, dgate, dup, dh (and dqPre/dkPre) are scratch.
   */
  void backward(Activations a, int t, VarlenLayout layout, Tensor cos, Tensor sin) {
    int s = a.slot(layer);
    Tensor pos = a.positions.view(0, t);
    Tensor ln = Activations.rows(a.ln, t, d);
    Tensor h = Activations.rows(a.h, t, f);
    Tensor dres = Activations.rows(a.dres, t, d);
    Tensor dtmp = Activations.rows(a.dtmp, t, d);
    Tensor dln = Activations.rows(a.dln, t, d);
    Tensor dq = Activations.rows(a.dq, t, hq, hd);
    Tensor dk = Activations.rows(a.dk, t, hkv, hd);
    Tensor dv = Activations.rows(a.dv, t, hkv, hd);
    Tensor datt = Activations.rows(a.datt, t, hq, hd);
    Tensor dgate = Activations.rows(a.dgate, t, f);
    Tensor dup = Activations.rows(a.dup, t, f);
    Tensor dh = Activations.rows(a.dh, t, f);
    Tensor xIn = Activations.rows(a.x(layer), t, d);
    Tensor xMid = Activations.rows(a.xMid[s], t, d);
    Tensor q = Activations.rows(a.q[s], t, hq, hd);
    Tensor k = Activations.rows(a.k[s], t, hkv, hd);
    Tensor v = Activations.rows(a.v[s], t, hkv, hd);
    Tensor att = Activations.rows(a.att[s], t, hq, hd);
    Tensor gate = Activations.rows(a.gate[s], t, f);
    Tensor up = Activations.rows(a.up[s], t, f);

    // MLP block; dres holds dL/dxOut
    be.rmsnormForward(ln, a.rstd2[s].view(0, t), xMid, w.postNorm().weight(), eps);   // recompute
    be.swigluForward(h, gate, up);                                                   // recompute
    lin.backward(layer, LinearModule.DOWN_PROJ, dh, dres, h, w.down(), null);
    be.swigluBackward(dgate, dup, dh, gate, up);
    lin.backward(layer, LinearModule.GATE_PROJ, dln, dgate, ln, w.gate(), null);
    lin.backward(layer, LinearModule.UP_PROJ, dtmp, dup, ln, w.up(), null);
    be.addInPlace(dln, dtmp);
    be.rmsnormBackward(dres, lin.normGrad(w.postNorm()), dln, xMid, w.postNorm().weight(), a.rstd2[s].view(0, t),
        true);                                                                         // now dL/dxMid

    // attention block
    lin.backward(layer, LinearModule.O_PROJ, datt.reshape(t, hq * hd), dres, att.reshape(t, hq * hd), w.o(), w.oBias());
    be.attentionBackward(dq, dk, dv, datt, q, k, v, att, a.lse[s].view(0, hq, t), layout, scale);
    be.ropeBackward(dq, pos, cos, sin);
    be.ropeBackward(dk, pos, cos, sin);
    Tensor dqIn = dq.reshape(t, hq * hd);
    Tensor dkIn = dk.reshape(t, hkv * hd);
    if (qkNorm) {
      Tensor dqPre = Activations.rows(a.dqPre, t, hq * hd);
      Tensor dkPre = Activations.rows(a.dkPre, t, hkv * hd);
      be.rmsnormBackward(dqPre.reshape((long) t * hq, hd), lin.normGrad(w.qNorm()), dq.reshape((long) t * hq, hd),
          Activations.rows(a.qPre[s], (long) t * hq, hd), w.qNorm().weight(), a.rstdQ[s].view(0, (long) t * hq));
      be.rmsnormBackward(dkPre.reshape((long) t * hkv, hd), lin.normGrad(w.kNorm()), dk.reshape((long) t * hkv, hd),
          Activations.rows(a.kPre[s], (long) t * hkv, hd), w.kNorm().weight(), a.rstdK[s].view(0, (long) t * hkv));
      dqIn = dqPre;
      dkIn = dkPre;
    }
    be.rmsnormForward(ln, a.rstd1[s].view(0, t), xIn, w.inputNorm().weight(), eps);  // recompute
    lin.backward(layer, LinearModule.Q_PROJ, dln, dqIn, ln, w.q(), w.qBias());
    lin.backward(layer, LinearModule.K_PROJ, dtmp, dkIn, ln, w.k(), w.kBias());
    be.addInPlace(dln, dtmp);
    lin.backward(layer, LinearModule.V_PROJ, dtmp, dv.reshape(t, hkv * hd), ln, w.v(), w.vBias());
    be.addInPlace(dln, dtmp);
    be.rmsnormBackward(dres, lin.normGrad(w.inputNorm()), dln, xIn, w.inputNorm().weight(), a.rstd1[s].view(0, t),
        true);                                                                         // now dL/dxIn
  }

}
