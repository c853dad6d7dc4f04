package io.rewardkit.model;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Activation and scratch buffers of one forward/backward, allocated for a token budget
 * {@code capT} and reused by every step whose batch fits (the per-step tensors are views of the
 * first T rows). Training keeps what backward needs for every layer; inference keeps one layer's
 * worth and ping-pongs the residual stream.
 *
 * <p>To save memory, the RMSNorm outputs feeding the projections ({@code ln}) and the SwiGLU output
 * ({@code h}) are not kept per layer: backward recomputes them from the saved inputs (both are
 * elementwise and cheap next to the GEMMs). With gradient checkpointing only the residual stream
 * (each layer's input) is kept per layer; one slot of layer internals is refilled by recomputing
 * each layer in backward.
 */
final class Activations implements AutoCloseable {
  final int capT;
  final boolean training;
  final boolean checkpointing;
  private final List<Tensor> owned = new ArrayList<>();

  // batch inputs (I32)
  final Tensor ids;        // [capT]
  final Tensor positions;  // [capT]
  final Tensor cuSeqlens;  // [capT + 1]
  final Tensor segments;   // [capT]
  final Tensor readout;    // [capT] (R ≤ T)

  // residual stream: training [L + 1] buffers (input of layer l, output of the last), inference 2
  final Tensor[] x;        // each [capT, D]
  // per kept layer (training L, inference 1)
  final Tensor[] rstd1;    // [capT]           input_layernorm 1/rms
  final Tensor[] xMid;     // [capT, D]        residual after attention
  final Tensor[] rstd2;    // [capT]           post_attention_layernorm 1/rms
  final Tensor[] q;        // [capT, Hq, hd]   after q-norm and rope (attention input)
  final Tensor[] k;        // [capT, Hkv, hd]  after k-norm and rope
  final Tensor[] v;        // [capT, Hkv, hd]
  final Tensor[] att;      // [capT, Hq, hd]   attention output (o_proj input)
  final Tensor[] lse;      // [Hq, capT]       attention log-sum-exp
  final Tensor[] gate;     // [capT, F]
  final Tensor[] up;       // [capT, F]
  final Tensor[] qPre;     // [capT, Hq, hd]   qwen3: q before q_norm (null otherwise)
  final Tensor[] kPre;     // [capT, Hkv, hd]  qwen3: k before k_norm
  final Tensor[] rstdQ;    // [capT, Hq]       qwen3: q_norm 1/rms
  final Tensor[] rstdK;    // [capT, Hkv]      qwen3: k_norm 1/rms

  // scratch shared by all layers
  final Tensor ln;         // [capT, D]  normed input of the projections
  final Tensor h;          // [capT, F]  swiglu output
  final Tensor tmpD;       // [capT, D]  projection output before the residual add
  final Tensor xNorm;      // [capT, D]  final norm output
  final Tensor rstdF;      // [capT]     final norm 1/rms
  final Tensor rewards;    // [capT]     (first R used)

  // backward scratch (training only; null otherwise)
  final Tensor dres;       // [capT, D]  gradient of the residual stream
  final Tensor dtmp;       // [capT, D]
  final Tensor dln;        // [capT, D]
  final Tensor dq;         // [capT, Hq, hd]
  final Tensor dk;         // [capT, Hkv, hd]
  final Tensor dv;         // [capT, Hkv, hd]
  final Tensor datt;       // [capT, Hq, hd]
  final Tensor dqPre;      // [capT, Hq, hd]  qwen3
  final Tensor dkPre;      // [capT, Hkv, hd] qwen3
  final Tensor dgate;      // [capT, F]
  final Tensor dup;        // [capT, F]
  final Tensor dh;         // [capT, F]

  Activations(ModelConfig cfg, Backend be, DType dt, int capT, boolean training) {
    this(cfg, be, dt, capT, training, false);
  }

  Activations(ModelConfig cfg, Backend be, DType dt, int capT, boolean training, boolean checkpointing) {
    this.capT = capT;
    this.training = training;
    this.checkpointing = training && checkpointing;
    long t = capT, d = cfg.hiddenSize(), f = cfg.intermediateSize(), qd = cfg.qDim(), kvd = cfg.kvDim();
    int hq = cfg.numAttentionHeads(), hkv = cfg.numKeyValueHeads();
    // Per-row statistics (rstd, LSE) and rewards stay fp32 when activations are BF16 (CUDA).
    DType lseType = dt == DType.F64 ? DType.F64 : DType.F32;
    int kept = keptLayers(cfg, training, this.checkpointing);

    ids = alloc(be, DType.I32, t);
    positions = alloc(be, DType.I32, t);
    cuSeqlens = alloc(be, DType.I32, t + 1);
    segments = alloc(be, DType.I32, t);
    readout = alloc(be, DType.I32, t);

    x = new Tensor[training ? cfg.numHiddenLayers() + 1 : 2];
    for (int i = 0; i < x.length; i++) x[i] = alloc(be, dt, t * d);
    rstd1 = new Tensor[kept];
    xMid = new Tensor[kept];
    rstd2 = new Tensor[kept];
    q = new Tensor[kept];
    k = new Tensor[kept];
    v = new Tensor[kept];
    att = new Tensor[kept];
    lse = new Tensor[kept];
    gate = new Tensor[kept];
    up = new Tensor[kept];
    qPre = new Tensor[kept];
    kPre = new Tensor[kept];
    rstdQ = new Tensor[kept];
    rstdK = new Tensor[kept];
    for (int s = 0; s < kept; s++) {
      rstd1[s] = alloc(be, lseType, t);
      xMid[s] = alloc(be, dt, t * d);
      rstd2[s] = alloc(be, lseType, t);
      q[s] = alloc(be, dt, t * qd);
      k[s] = alloc(be, dt, t * kvd);
      v[s] = alloc(be, dt, t * kvd);
      att[s] = alloc(be, dt, t * qd);
      lse[s] = alloc(be, lseType, hq * t);
      gate[s] = alloc(be, dt, t * f);
      up[s] = alloc(be, dt, t * f);
      if (cfg.qkNorm()) {
        qPre[s] = alloc(be, dt, t * qd);
        kPre[s] = alloc(be, dt, t * kvd);
        rstdQ[s] = alloc(be, lseType, t * hq);
        rstdK[s] = alloc(be, lseType, t * hkv);
      }
    }
    ln = alloc(be, dt, t * d);
    h = alloc(be, dt, t * f);
    tmpD = alloc(be, dt, t * d);
    xNorm = alloc(be, dt, t * d);
    rstdF = alloc(be, lseType, t);
    rewards = alloc(be, lseType, t);
    if (training) {
      dres = alloc(be, dt, t * d);
      dtmp = alloc(be, dt, t * d);
      dln = alloc(be, dt, t * d);
      dq = alloc(be, dt, t * qd);
      dk = alloc(be, dt, t * kvd);
      dv = alloc(be, dt, t * kvd);
      datt = alloc(be, dt, t * qd);
      dqPre = cfg.qkNorm() ? alloc(be, dt, t * qd) : null;
      dkPre = cfg.qkNorm() ? alloc(be, dt, t * kvd) : null;
      dgate = alloc(be, dt, t * f);
      dup = alloc(be, dt, t * f);
      dh = alloc(be, dt, t * f);
    } else {
      dres = dtmp = dln = dq = dk = dv = datt = dqPre = dkPre = dgate = dup = dh = null;
    }
  }

  private static int keptLayers(ModelConfig cfg, boolean training, boolean checkpointing) {
    return training && !checkpointing ? cfg.numHiddenLayers() : 1;
  }

  /**
   * Bytes the constructor allocates for these arguments, without allocating: the memory plan's
   * activation figure. Mirrors the constructor line by line (ActivationsPlanTest holds them equal).
   */
  static long plannedBytes(ModelConfig cfg, DType dt, long capT, boolean training, boolean checkpointing) {
    long t = capT, d = cfg.hiddenSize(), f = cfg.intermediateSize(), qd = cfg.qDim(), kvd = cfg.kvDim();
    int hq = cfg.numAttentionHeads(), hkv = cfg.numKeyValueHeads();
    long e = dt.bytes(), s = (dt == DType.F64 ? DType.F64 : DType.F32).bytes(), i32 = DType.I32.bytes();
    int kept = keptLayers(cfg, training, training && checkpointing);
    long b = i32 * (4 * t + t + 1);                                      // ids, positions, segments, readout; cuSeqlens
    b += (training ? cfg.numHiddenLayers() + 1L : 2L) * t * d * e;       // residual stream
    long perLayer = s * t * 2 + e * (t * d + 2 * t * qd + 2 * t * kvd + 2 * t * f) + s * hq * t;
    if (cfg.qkNorm()) perLayer += e * (t * qd + t * kvd) + s * (t * hq + t * hkv);
    b += kept * perLayer;
    b += e * (3 * t * d + t * f) + s * 2 * t;                             // ln, h, tmpD, xNorm; rstdF, rewards
    if (training) {
      b += e * (3 * t * d + 2 * t * qd + 2 * t * kvd + 3 * t * f);
      if (cfg.qkNorm()) b += e * (t * qd + t * kvd);
    }
    return b;
  }

  private Tensor alloc(Backend be, DType dt, long n) {
    Tensor t = be.allocate(dt, n);
    owned.add(t);
    return t;
  }

  /** Residual-stream buffer i (layer i's input; i = L is the last layer's output). */
  Tensor x(int i) { return training ? x[i] : x[i % 2]; }

  /** Slot of layer l's saved activations (checkpointing: one slot, refilled by recomputing the layer). */
  int slot(int l) { return training && !checkpointing ? l : 0; }

  /** The first {@code rows} rows of a buffer, shaped {@code [rows, inner...]}. */
  static Tensor rows(Tensor buf, long rows, long... inner) {
    long[] shape = new long[inner.length + 1];
    shape[0] = rows;
    System.arraycopy(inner, 0, shape, 1, inner.length);
    return buf.view(0, shape);
  }

  /** Bytes held by these buffers. */
  long bytes() {
    long b = 0;
    for (Tensor t : owned) b += t.bytes();
    return b;
  }

  @Override
  public void close() {
    for (Tensor t : owned) t.close();
    owned.clear();
  }
}
