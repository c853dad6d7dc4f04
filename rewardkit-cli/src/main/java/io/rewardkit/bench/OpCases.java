package io.rewardkit.bench;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.kernels.VarlenLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Every backend op of the training hot path, forward and backward, set up on the tensors one decoder
 * layer of a {@link ModelShape} uses for {@code tokens} packed tokens, with the work each call does
 * ({@link Cost}) so a time becomes GB/s or FLOP/s. Shared by the JMH suite and the unit tests.
 *
 * <p>Attention uses sequences of {@code seqlen} tokens (the last one shorter when it does not divide
 * {@code tokens}), plain causal. Linear ops are named by projection: {@code linear_qkv} (D → (Hq+2Hkv)·hd,
 * with bias when the model has one), {@code linear_o} (Hq·hd → D), {@code linear_up} (D → F, one of gate
 * and up), {@code linear_down} (F → D). Optimizer ops run on one layer's worth of parameters.
 *
 * <p>The fused residual chains of the decoder layer (issue 17) come in pairs, the fused op and the unfused calls it
 * replaced, charged the same minimum bytes so their roofline shares compare directly: {@code residual_rmsnorm}
 * (y = x + δ, out = rmsnorm(y); unfused: copy, addInPlace, rmsnormForward), {@code rmsnorm_acc} (the norm backward
 * adding into the residual gradient; unfused: into a scratch, then addInPlace) and {@code add3} (out = a + b;
 * unfused: copy, addInPlace).
 */
public final class OpCases {
  private OpCases() {}

  /** Op names, in report order. */
  public static final List<String> NAMES = List.of(
      "embedding.fwd", "embedding.bwd", "rmsnorm.fwd", "rmsnorm.bwd",
      "linear_qkv.fwd", "linear_qkv.bwd", "linear_o.fwd", "linear_o.bwd",
      "linear_up.fwd", "linear_up.bwd", "linear_down.fwd", "linear_down.bwd",
      "rope.fwd", "rope.bwd", "attention.fwd", "attention.bwd", "swiglu.fwd", "swiglu.bwd",
      "add.fwd", "score.fwd", "score.bwd", "loss.fwd+bwd", "optimizer.adamw", "optimizer.grad_norm",
      "residual_rmsnorm.fwd", "residual_rmsnorm_unfused.fwd", "rmsnorm_acc.bwd", "rmsnorm_acc_unfused.bwd",
      "add3.fwd", "add3_unfused.fwd");

  /**
   * The work of one call: {@code flops} (multiply-adds count 2) and minimum {@code bytes} moved, and
   * whether the op is bound by compute (compare with the GEMM ceiling) or by memory (the copy ceiling).
   */
  public record Cost(double flops, double bytes, boolean computeBound) {}

  /** A prepared op: {@link #run()} issues exactly one call. */
  public interface Case {
    void run();
  }

  public static Cost cost(String op, ModelShape m, int tokens, int seqlen, int elemBytes) {
    double t = tokens, d = m.hiddenSize(), f = m.intermediateSize(), e = elemBytes, hd = m.headDim();
    double hq = m.numHeads();
    int r = readouts(tokens, seqlen);
    return switch (op) {
      case "embedding.fwd" -> mem(2 * t * d * e + 4 * t);
      case "embedding.bwd" -> mem(3 * t * d * e + 4 * t);
      case "rmsnorm.fwd" -> mem(2 * t * d * e + d * e + 4 * t);
      case "rmsnorm.bwd" -> mem(3 * t * d * e + 2 * d * e + 4 * t);
      case "linear_qkv.fwd", "linear_qkv.bwd", "linear_o.fwd", "linear_o.bwd", "linear_up.fwd", "linear_up.bwd",
          "linear_down.fwd", "linear_down.bwd" -> {
        long[] oi = linearShape(op, m);
        double mac = t * oi[0] * oi[1];
        yield new Cost(op.endsWith(".fwd") ? 2 * mac : 4 * mac, (t * (oi[0] + oi[1]) + oi[0] * oi[1]) * e, true);
      }
      case "rope.fwd", "rope.bwd" -> mem(2 * t * hq * hd * e + t * hd * e + 4 * t);
      case "attention.fwd" -> new Cost(FlopModel.attentionForwardFlops(m.numHeads(), m.headDim(), visible(tokens, seqlen)),
          (2 * t * hq * hd + 2 * t * m.kvWidth()) * e, true);
      case "attention.bwd" -> new Cost(FlopModel.attentionBackwardFlops(m.numHeads(), m.headDim(), visible(tokens, seqlen)),
          (4 * t * hq * hd + 4 * t * m.kvWidth()) * e, true);
      case "swiglu.fwd" -> mem(3 * t * f * e);
      case "swiglu.bwd" -> mem(5 * t * f * e);
      case "add.fwd", "add3.fwd", "add3_unfused.fwd" -> mem(3 * t * d * e);
      case "residual_rmsnorm.fwd", "residual_rmsnorm_unfused.fwd" -> mem(4 * t * d * e + d * e + 4 * t);
      case "rmsnorm_acc.bwd", "rmsnorm_acc_unfused.bwd" -> mem(4 * t * d * e + 2 * d * e + 4 * t);
      case "score.fwd" -> mem(r * d * e + d * e);
      case "score.bwd" -> mem(t * d * e + r * d * e);
      case "loss.fwd+bwd" -> mem(3.0 * r * e);
      case "optimizer.adamw" -> mem(28.0 * m.layerParameters());
      case "optimizer.grad_norm" -> mem(4.0 * m.layerParameters());
      default -> throw new IllegalArgumentException("unknown op '" + op + "'; known: " + NAMES);
    };
  }

  private static Cost mem(double bytes) { return new Cost(0, bytes, false); }

  /** {O, I} of a named linear projection. */
  static long[] linearShape(String op, ModelShape m) {
    String proj = op.substring(0, op.indexOf('.'));
    return switch (proj) {
      case "linear_qkv" -> new long[] {m.qkvWidth(), m.hiddenSize()};
      case "linear_o" -> new long[] {m.hiddenSize(), m.qWidth()};
      case "linear_up" -> new long[] {m.intermediateSize(), m.hiddenSize()};
      case "linear_down" -> new long[] {m.hiddenSize(), m.intermediateSize()};
      default -> throw new IllegalArgumentException("unknown projection " + proj);
    };
  }

  /** Sequence lengths covering {@code tokens} in pieces of {@code seqlen}. */
  public static int[] seqLens(int tokens, int seqlen) {
    if (tokens <= 0 || seqlen <= 0) throw new IllegalArgumentException("tokens and seqlen must be positive");
    int n = (tokens + seqlen - 1) / seqlen;
    int[] lens = new int[n];
    for (int i = 0; i < n; i++) lens[i] = Math.min(seqlen, tokens - i * seqlen);
    return lens;
  }

  static long visible(int tokens, int seqlen) {
    long v = 0;
    for (int l : seqLens(tokens, seqlen)) v += (long) l * (l + 1) / 2;
    return v;
  }

  /** Readout positions: two per sequence (as if each held a pair), at least two. */
  static int readouts(int tokens, int seqlen) {
    return Math.max(2, 2 * seqLens(tokens, seqlen).length);
  }

  /** Allocates and fills the tensors of {@code op} on {@code b}; the returned case issues the call. */
  public static Case create(String op, Backend b, ModelShape m, int tokens, int seqlen, long seed) {
    cost(op, m, tokens, seqlen, 4);   // validates the name
    Fill fill = new Fill(b, seed);
    DType dt = b.computeType();
    int t = tokens, d = m.hiddenSize(), f = m.intermediateSize(), hd = m.headDim();
    switch (op) {
      case "embedding.fwd", "embedding.bwd" -> {
        Tensor table = fill.uniform(dt, 0.02, m.vocabSize(), d);
        Tensor ids = fill.ints(m.vocabSize(), t);
        Tensor out = fill.uniform(dt, 1, t, d);
        return op.endsWith("fwd") ? () -> b.embeddingForward(out, ids, table) : () -> b.embeddingBackward(table, out, ids);
      }
      case "rmsnorm.fwd", "rmsnorm.bwd" -> {
        Tensor x = fill.uniform(dt, 1, t, d), w = fill.uniform(dt, 1, d), out = b.allocate(dt, t, d);
        Tensor rstd = b.allocate(rstdType(dt), t), dw = b.allocate(dt, d), dx = b.allocate(dt, t, d);
        b.rmsnormForward(out, rstd, x, w, m.rmsNormEps());
        if (op.endsWith("fwd")) return () -> b.rmsnormForward(out, rstd, x, w, m.rmsNormEps());
        Tensor dOut = fill.uniform(dt, 1, t, d);
        return () -> b.rmsnormBackward(dx, dw, dOut, x, w, rstd);
      }
      case "linear_qkv.fwd", "linear_qkv.bwd", "linear_o.fwd", "linear_o.bwd", "linear_up.fwd", "linear_up.bwd",
          "linear_down.fwd", "linear_down.bwd" -> {
        long[] oi = linearShape(op, m);
        boolean bias = op.startsWith("linear_qkv") && m.attentionBias();
        Tensor x = fill.uniform(dt, 1, t, oi[1]), w = fill.uniform(dt, 0.02, oi[0], oi[1]);
        Tensor bv = bias ? fill.uniform(dt, 0.02, oi[0]) : null, out = b.allocate(dt, t, oi[0]);
        if (op.endsWith("fwd")) return () -> b.linearForward(out, x, w, bv);
        Tensor dOut = fill.uniform(dt, 1, t, oi[0]), dx = b.allocate(dt, t, oi[1]), dw = b.allocate(dt, oi[0], oi[1]);
        Tensor db = bias ? b.allocate(dt, oi[0]) : null;
        return () -> b.linearBackward(dx, dw, db, dOut, x, w);
      }
      case "rope.fwd", "rope.bwd" -> {
        Tensor x = fill.uniform(dt, 1, t, m.numHeads(), hd);
        Tensor pos = b.allocate(DType.I32, t);
        b.upload(pos, positions(t, seqlen));
        Tensor cos = fill.uniform(dt, 0.5, seqlen, hd / 2), sin = fill.uniform(dt, 0.5, seqlen, hd / 2);
        return op.endsWith("fwd") ? () -> b.ropeForward(x, pos, cos, sin) : () -> b.ropeBackward(x, pos, cos, sin);
      }
      case "attention.fwd", "attention.bwd" -> {
        int hq = m.numHeads(), hkv = m.numKvHeads();
        Tensor q = fill.uniform(dt, 1, t, hq, hd), k = fill.uniform(dt, 1, t, hkv, hd), v = fill.uniform(dt, 1, t, hkv, hd);
        Tensor out = b.allocate(dt, t, hq, hd), lse = b.allocate(rstdType(dt), hq, t);
        int[] lens = seqLens(t, seqlen);
        int[] cu = new int[lens.length + 1];
        for (int i = 0; i < lens.length; i++) cu[i + 1] = cu[i] + lens[i];
        Tensor cuT = b.allocate(DType.I32, cu.length);
        b.upload(cuT, cu);
        VarlenLayout layout = new VarlenLayout(cuT, null, lens.length, t, Math.min(seqlen, t));
        double scale = 1.0 / Math.sqrt(hd);
        b.attentionForward(out, lse, q, k, v, layout, scale);
        if (op.endsWith("fwd")) return () -> b.attentionForward(out, lse, q, k, v, layout, scale);
        Tensor dOut = fill.uniform(dt, 1, t, hq, hd), dq = b.allocate(dt, t, hq, hd);
        Tensor dk = b.allocate(dt, t, hkv, hd), dv = b.allocate(dt, t, hkv, hd);
        return () -> b.attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, layout, scale);
      }
      case "swiglu.fwd", "swiglu.bwd" -> {
        Tensor gate = fill.uniform(dt, 1, t, f), up = fill.uniform(dt, 1, t, f), out = b.allocate(dt, t, f);
        if (op.endsWith("fwd")) return () -> b.swigluForward(out, gate, up);
        Tensor dGate = b.allocate(dt, t, f), dUp = b.allocate(dt, t, f);
        return () -> b.swigluBackward(dGate, dUp, out, gate, up);
      }
      case "add.fwd" -> {
        Tensor acc = fill.uniform(dt, 1, t, d), x = fill.uniform(dt, 1e-3, t, d);
        return () -> b.addInPlace(acc, x);
      }
      case "add3.fwd", "add3_unfused.fwd" -> {
        Tensor a = fill.uniform(dt, 1, t, d), x = fill.uniform(dt, 1e-3, t, d), out = b.allocate(dt, t, d);
        if (op.equals("add3.fwd")) return () -> b.add(out, a, x);
        return () -> {
          b.copy(out, a);
          b.addInPlace(out, x);
        };
      }
      case "residual_rmsnorm.fwd", "residual_rmsnorm_unfused.fwd" -> {
        Tensor x = fill.uniform(dt, 1, t, d), delta = fill.uniform(dt, 0.1, t, d), w = fill.uniform(dt, 1, d);
        Tensor y = b.allocate(dt, t, d), out = b.allocate(dt, t, d), rstd = b.allocate(rstdType(dt), t);
        if (op.equals("residual_rmsnorm.fwd")) return () -> b.residualRmsnormForward(y, out, rstd, x, delta, w, m.rmsNormEps());
        return () -> {
          b.copy(y, x);
          b.addInPlace(y, delta);
          b.rmsnormForward(out, rstd, y, w, m.rmsNormEps());
        };
      }
      case "rmsnorm_acc.bwd", "rmsnorm_acc_unfused.bwd" -> {
        Tensor x = fill.uniform(dt, 1, t, d), w = fill.uniform(dt, 1, d), dOut = fill.uniform(dt, 1, t, d);
        Tensor rstd = b.allocate(rstdType(dt), t), dw = b.allocate(rstdType(dt), d), dres = fill.uniform(dt, 1e-3, t, d);
        b.rmsnormForward(b.allocate(dt, t, d), rstd, x, w, m.rmsNormEps());
        if (op.equals("rmsnorm_acc.bwd")) return () -> b.rmsnormBackward(dres, dw, dOut, x, w, rstd, true);
        Tensor scratch = b.allocate(dt, t, d);
        return () -> {
          b.rmsnormBackward(scratch, dw, dOut, x, w, rstd);
          b.addInPlace(dres, scratch);
        };
      }
      case "score.fwd", "score.bwd" -> {
        int r = readouts(t, seqlen);
        Tensor hidden = fill.uniform(dt, 1, t, d), w = fill.uniform(dt, 0.02, d), rewards = b.allocate(dt, r);
        Tensor readout = b.allocate(DType.I32, r);
        b.upload(readout, readoutIndices(t, seqlen));
        if (op.endsWith("fwd")) return () -> b.scoreForward(rewards, hidden, readout, w);
        Tensor dHidden = b.allocate(dt, t, d), dw = b.allocate(dt, d), dRewards = fill.uniform(dt, 1, r);
        return () -> b.scoreBackward(dHidden, dw, dRewards, hidden, readout, w);
      }
      case "loss.fwd+bwd" -> {
        int r = readouts(t, seqlen), p = r / 2;
        Tensor rewards = fill.uniform(dt, 1, r), dRewards = b.allocate(dt, r);
        int[] ch = new int[p], rj = new int[p];
        for (int i = 0; i < p; i++) {
          ch[i] = 2 * i;
          rj[i] = 2 * i + 1;
        }
        Tensor chosen = b.allocate(DType.I32, p), rejected = b.allocate(DType.I32, p);
        b.upload(chosen, ch);
        b.upload(rejected, rj);
        Backend.RewardLossSpec spec = Backend.RewardLossSpec.ranking();
        return () -> b.rewardLoss(rewards, chosen, rejected, null, dRewards, spec, 1.0);
      }
      case "optimizer.adamw" -> {
        long n = m.layerParameters();
        // One group of a layer's size: F32 master, the working weights in the compute dtype (the master itself on CPU).
        Tensor p = fill.uniform(DType.F32, 0.02, n), g = fill.uniform(DType.F32, 1e-3, n);
        Tensor w = b.computeType() == DType.F32 ? p : b.allocate(b.computeType(), n);
        Tensor mm = b.allocate(DType.F32, n), vv = b.allocate(DType.F32, n);
        Backend.AdamWStep step = new Backend.AdamWStep(1e-6, 0.9, 0.95, 1e-8, 0.0, 10, 1.0);
        return () -> b.adamwUpdate(p, w, g, mm, vv, step);
      }
      case "optimizer.grad_norm" -> {
        Tensor g = fill.uniform(DType.F32, 1e-3, m.layerParameters());
        return () -> b.gradSumSquares(g);
      }
      default -> throw new IllegalArgumentException("unknown op '" + op + "'");
    }
  }

  /** lse / rstd are F32 except in F64 gradient-check runs. */
  private static DType rstdType(DType dt) { return dt == DType.F64 ? DType.F64 : DType.F32; }

  static int[] positions(int tokens, int seqlen) {
    int[] p = new int[tokens];
    for (int i = 0; i < tokens; i++) p[i] = i % seqlen;
    return p;
  }

  static int[] readoutIndices(int tokens, int seqlen) {
    int[] lens = seqLens(tokens, seqlen);
    List<Integer> idx = new ArrayList<>();
    int start = 0;
    for (int l : lens) {
      idx.add(start + Math.max(0, l / 2 - 1));
      idx.add(start + l - 1);
      start += l;
    }
    while (idx.size() < 2) idx.add(tokens - 1);
    return idx.stream().mapToInt(Integer::intValue).toArray();
  }

  /** Fills tensors with seeded uniform values of a given standard deviation, in chunks (no huge Java arrays). */
  private static final class Fill {
    private static final int CHUNK = 1 << 22;
    private final Backend b;
    private final SplittableRandom rng;

    Fill(Backend b, long seed) {
      this.b = b;
      this.rng = new SplittableRandom(seed);
    }

    Tensor uniform(DType dt, double std, long... shape) {
      Tensor t = b.allocate(dt, shape);
      long n = t.numel();
      for (long off = 0; off < n; off += CHUNK) {
        int len = (int) Math.min(CHUNK, n - off);
        float[] v = new float[len];
        for (int i = 0; i < len; i++) v[i] = (float) ((rng.nextDouble() * 2 - 1) * std * 1.7320508);
        b.upload(t.view(off, len), v);
      }
      return t;
    }

    Tensor ints(int bound, long n) {
      Tensor t = b.allocate(DType.I32, n);
      int[] v = new int[Math.toIntExact(n)];
      for (int i = 0; i < v.length; i++) v[i] = rng.nextInt(bound);
      b.upload(t, v);
      return t;
    }
  }
}
