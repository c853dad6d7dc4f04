package io.rewardkit.model;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.kernels.VarlenLayout;

/**
 * One decoder layer, x(l) → x(l+1):
 * {@code input_layernorm → q/k/v proj (+bias) → [qwen3: per-head q_norm/k_norm] → rope → varlen causal
 * GQA attention → o_proj → +x → post_attention_layernorm → gate/up → swiglu → down → +}.
 * Backward recomputes the cheap normed inputs and the swiglu output instead of keeping them per layer.
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

  DecoderLayerBlock(ModelConfig cfg, Backend be, ModelParameters.Layer w, int layer) {
    this.be = be;
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
      be.linearForward(qPre, ln, w.q().weight(), bias(w.qBias()));
      be.linearForward(kPre, ln, w.k().weight(), bias(w.kBias()));
      // per-head norm: rows (token, head), dim hd
      be.rmsnormForward(q.reshape((long) t * hq, hd), a.rstdQ[s].view(0, (long) t * hq), qPre.reshape((long) t * hq, hd),
          w.qNorm().weight(), eps);
      be.rmsnormForward(k.reshape((long) t * hkv, hd), a.rstdK[s].view(0, (long) t * hkv), kPre.reshape((long) t * hkv, hd),
          w.kNorm().weight(), eps);
    } else {
      be.linearForward(q.reshape(t, hq * hd), ln, w.q().weight(), bias(w.qBias()));
      be.linearForward(k.reshape(t, hkv * hd), ln, w.k().weight(), bias(w.kBias()));
    }
    be.linearForward(v.reshape(t, hkv * hd), ln, w.v().weight(), bias(w.vBias()));
    be.ropeForward(q, pos, cos, sin);
    be.ropeForward(k, pos, cos, sin);
    be.attentionForward(att, a.lse[s].view(0, hq, t), q, k, v, layout, scale);
    be.linearForward(tmp, att.reshape(t, hq * hd), w.o().weight(), bias(w.oBias()));
    be.copy(xMid, xIn);
    be.addInPlace(xMid, tmp);

    // MLP block
    Tensor gate = Activations.rows(a.gate[s], t, f);
    Tensor up = Activations.rows(a.up[s], t, f);
    be.rmsnormForward(ln, a.rstd2[s].view(0, t), xMid, w.postNorm().weight(), eps);
    be.linearForward(gate, ln, w.gate().weight(), null);
    be.linearForward(up, ln, w.up().weight(), null);
    if (recompute) return;
    be.swigluForward(h, gate, up);
    be.linearForward(tmp, h, w.down().weight(), null);
    be.copy(xOut, xMid);
    be.addInPlace(xOut, tmp);
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
    be.linearBackward(dh, w.down().grad(), null, dres, h, w.down().weight());
    be.swigluBackward(dgate, dup, dh, gate, up);
    be.linearBackward(dln, w.gate().grad(), null, dgate, ln, w.gate().weight());
    be.linearBackward(dtmp, w.up().grad(), null, dup, ln, w.up().weight());
    be.addInPlace(dln, dtmp);
    be.rmsnormBackward(dtmp, w.postNorm().grad(), dln, xMid, w.postNorm().weight(), a.rstd2[s].view(0, t));
    be.addInPlace(dres, dtmp);                                                        // now dL/dxMid

    // attention block
    be.linearBackward(datt.reshape(t, hq * hd), w.o().grad(), biasGrad(w.oBias()), dres, att.reshape(t, hq * hd), w.o().weight());
    be.attentionBackward(dq, dk, dv, datt, q, k, v, att, a.lse[s].view(0, hq, t), layout, scale);
    be.ropeBackward(dq, pos, cos, sin);
    be.ropeBackward(dk, pos, cos, sin);
    Tensor dqIn = dq.reshape(t, hq * hd);
    Tensor dkIn = dk.reshape(t, hkv * hd);
    if (qkNorm) {
      Tensor dqPre = Activations.rows(a.dqPre, t, hq * hd);
      Tensor dkPre = Activations.rows(a.dkPre, t, hkv * hd);
      be.rmsnormBackward(dqPre.reshape((long) t * hq, hd), w.qNorm().grad(), dq.reshape((long) t * hq, hd),
          Activations.rows(a.qPre[s], (long) t * hq, hd), w.qNorm().weight(), a.rstdQ[s].view(0, (long) t * hq));
      be.rmsnormBackward(dkPre.reshape((long) t * hkv, hd), w.kNorm().grad(), dk.reshape((long) t * hkv, hd),
          Activations.rows(a.kPre[s], (long) t * hkv, hd), w.kNorm().weight(), a.rstdK[s].view(0, (long) t * hkv));
      dqIn = dqPre;
      dkIn = dkPre;
    }
    be.rmsnormForward(ln, a.rstd1[s].view(0, t), xIn, w.inputNorm().weight(), eps);  // recompute
    be.linearBackward(dln, w.q().grad(), biasGrad(w.qBias()), dqIn, ln, w.q().weight());
    be.linearBackward(dtmp, w.k().grad(), biasGrad(w.kBias()), dkIn, ln, w.k().weight());
    be.addInPlace(dln, dtmp);
    be.linearBackward(dtmp, w.v().grad(), biasGrad(w.vBias()), dv.reshape(t, hkv * hd), ln, w.v().weight());
    be.addInPlace(dln, dtmp);
    be.rmsnormBackward(dtmp, w.inputNorm().grad(), dln, xIn, w.inputNorm().weight(), a.rstd1[s].view(0, t));
    be.addInPlace(dres, dtmp);                                                        // now dL/dxIn
  }

  private static Tensor bias(Parameter p) { return p == null ? null : p.weight(); }

  private static Tensor biasGrad(Parameter p) { return p == null ? null : p.grad(); }
}
