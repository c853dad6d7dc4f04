package io.rewardkit.kernels;

import io.rewardkit.kernels.cpu.RewardKitCpu;
import io.rewardkit.kernels.cpu.RmsNorm;
import org.bytedeco.javacpp.Pointer;

/**
 * The CPU backend: C++17/OpenMP reference kernels (librewardkit_cpu) for every op, and OpenBLAS
 * (Bytedeco preset) for the GEMMs. Works on F32 and, for gradient checks, F64.
 */
public final class CpuBackend implements Backend {

  public CpuBackend() {
    RewardKitCpu.load();
  }

  @Override public String name() { return "cpu (" + Runtime.getRuntime().availableProcessors() + " threads, OpenBLAS)"; }
  @Override public Device device() { return Device.CPU; }
  @Override public DType computeType() { return DType.F32; }

  // ---- memory ---------------------------------------------------------------------------------

  @Override public Tensor allocate(DType dtype, long... shape) { return Tensor.host(dtype, shape); }

  @Override public void upload(Tensor dst, float[] src) {
    requireCount(dst, src.length);
    switch (dst.dtype()) {
      case F32 -> dst.f32().put(src);
      default -> { for (int i = 0; i < src.length; i++) dst.setDouble(i, src[i]); }
    }
  }

  @Override public void upload(Tensor dst, double[] src) {
    requireCount(dst, src.length);
    switch (dst.dtype()) {
      case F64 -> dst.f64().put(src);
      default -> { for (int i = 0; i < src.length; i++) dst.setDouble(i, src[i]); }
    }
  }

  @Override public void upload(Tensor dst, int[] src) {
    requireCount(dst, src.length);
    if (dst.dtype() != DType.I32) throw new IllegalArgumentException("int upload into " + dst);
    dst.i32().put(src);
  }

  @Override public float[] downloadFloats(Tensor src) { return src.toFloatArray(); }
  @Override public double[] downloadDoubles(Tensor src) { return src.toDoubleArray(); }
  @Override public int[] downloadInts(Tensor src) { return src.toIntArray(); }

  @Override public void copy(Tensor dst, Tensor src) {
    if (dst.dtype() != src.dtype() || dst.numel() != src.numel()) {
      throw new IllegalArgumentException("copy " + src + " -> " + dst + ": dtype or size differs");
    }
    Pointer.memcpy(dst.bytePointer(), src.bytePointer(), src.bytes());
  }

  @Override public void zero(Tensor t) { Pointer.memset(t.bytePointer(), 0, t.bytes()); }
  @Override public void synchronize() {}

  private static void requireCount(Tensor t, int n) {
    if (t.numel() != n) throw new IllegalArgumentException("array of " + n + " elements for " + t);
  }

  // ---- model ops ------------------------------------------------------------------------------

  @Override public void rmsnormForward(Tensor out, Tensor rstd, Tensor x, Tensor w, double eps) {
    long dim = w.numel(), rows = x.numel() / dim;
    Shapes.require("rmsnorm", x.numel() == rows * dim && out.numel() == x.numel() && rstd.numel() == rows,
        "x " + x + ", out " + out + ", w " + w + ", rstd " + rstd);
    switch (Shapes.floatType("rmsnorm", out, rstd, x, w)) {
      case F32 -> RmsNorm.rmsnorm_forward(out.f32(), rstd.f32(), x.f32(), w.f32(), rows, dim, eps);
      case F64 -> RmsNorm.rmsnorm_forward(out.f64(), rstd.f64(), x.f64(), w.f64(), rows, dim, eps);
      default -> throw Shapes.unsupported("rmsnorm", out.dtype());
    }
  }

  @Override public void rmsnormBackward(Tensor dx, Tensor dw, Tensor dOut, Tensor x, Tensor w, Tensor rstd) {
    long dim = w.numel(), rows = x.numel() / dim;
    Shapes.require("rmsnorm_backward", dx.numel() == x.numel() && dOut.numel() == x.numel()
        && dw.numel() == dim && rstd.numel() == rows, "dx " + dx + ", x " + x + ", w " + w);
    switch (Shapes.floatType("rmsnorm_backward", dx, dw, dOut, x, w, rstd)) {
      case F32 -> RmsNorm.rmsnorm_backward(dx.f32(), dw.f32(), dOut.f32(), x.f32(), w.f32(), rstd.f32(), rows, dim);
      case F64 -> RmsNorm.rmsnorm_backward(dx.f64(), dw.f64(), dOut.f64(), x.f64(), w.f64(), rstd.f64(), rows, dim);
      default -> throw Shapes.unsupported("rmsnorm_backward", dx.dtype());
    }
  }

  @Override public void embeddingForward(Tensor out, Tensor ids, Tensor table) { throw todo(); }
  @Override public void embeddingBackward(Tensor dTable, Tensor dOut, Tensor ids) { throw todo(); }
  @Override public void linearForward(Tensor out, Tensor x, Tensor w, Tensor bias) { throw todo(); }
  @Override public void linearBackward(Tensor dx, Tensor dw, Tensor dBias, Tensor dOut, Tensor x, Tensor w) { throw todo(); }
  @Override public void ropeForward(Tensor x, Tensor positions, Tensor cos, Tensor sin) { throw todo(); }
  @Override public void ropeBackward(Tensor dx, Tensor positions, Tensor cos, Tensor sin) { throw todo(); }
  @Override public void attentionForward(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, VarlenLayout layout, double scale) { throw todo(); }
  @Override public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOut, Tensor q, Tensor k, Tensor v,
      Tensor out, Tensor lse, VarlenLayout layout, double scale) { throw todo(); }
  @Override public void swigluForward(Tensor out, Tensor gate, Tensor up) { throw todo(); }
  @Override public void swigluBackward(Tensor dGate, Tensor dUp, Tensor dOut, Tensor gate, Tensor up) { throw todo(); }
  @Override public void addInPlace(Tensor acc, Tensor x) { throw todo(); }
  @Override public void scoreForward(Tensor rewards, Tensor hidden, Tensor readout, Tensor w) { throw todo(); }
  @Override public void scoreBackward(Tensor dHidden, Tensor dw, Tensor dRewards, Tensor hidden, Tensor readout, Tensor w) { throw todo(); }

  private static UnsupportedOperationException todo() {
    return new UnsupportedOperationException("not implemented yet");
  }

  @Override public void close() {}

  // ---- training ops (fused loss, optimizer, gradient norm) ------------------------------------

  @Override public double[] rewardLoss(Tensor rewards, Tensor chosen, Tensor rejected, Tensor margins, Tensor dRewards,
      RewardLossSpec spec, double gradScale) {
    long r = rewards.numel(), p = chosen.numel();
    Shapes.require("reward_loss", rejected.numel() == p && (margins == null || margins.numel() == p)
        && (dRewards == null || dRewards.numel() == r) && chosen.dtype() == DType.I32 && rejected.dtype() == DType.I32,
        "rewards " + rewards + ", chosen " + chosen + ", rejected " + rejected + ", margins " + margins + ", dRewards " + dRewards);
    double[] stats = new double[RewardLossSpec.NUM_STATS];
    try (org.bytedeco.javacpp.DoublePointer out = new org.bytedeco.javacpp.DoublePointer(stats.length)) {
      switch (Shapes.floatType("reward_loss", rewards, margins, dRewards)) {
        case F32 -> io.rewardkit.kernels.cpu.RewardLoss.reward_loss_forward_backward(rewards.f32(), chosen.i32(), rejected.i32(),
            margins == null ? null : margins.f32(), dRewards == null ? null : dRewards.f32(), out, r, p, spec.lossType(),
            spec.gamma(), spec.penaltyType(), spec.penaltyWeight(), spec.lower(), spec.upper(), spec.centerCoef(), gradScale);
        case F64 -> io.rewardkit.kernels.cpu.RewardLoss.reward_loss_forward_backward(rewards.f64(), chosen.i32(), rejected.i32(),
            margins == null ? null : margins.f64(), dRewards == null ? null : dRewards.f64(), out, r, p, spec.lossType(),
            spec.gamma(), spec.penaltyType(), spec.penaltyWeight(), spec.lower(), spec.upper(), spec.centerCoef(), gradScale);
        default -> throw Shapes.unsupported("reward_loss", rewards.dtype());
      }
      out.get(stats);
    }
    return stats;
  }

  @Override public void adamwUpdate(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2,
      double eps, double weightDecay, long step, double gradScale) {
    long n = param.numel();
    Shapes.require("adamw", grad.numel() == n && m.numel() == n && v.numel() == n && step >= 1,
        "param " + param + ", grad " + grad + ", m " + m + ", v " + v + ", step " + step);
    if (Shapes.floatType("adamw", param, grad, m, v) != DType.F32) throw Shapes.unsupported("adamw", param.dtype());
    io.rewardkit.kernels.cpu.AdamW.adamw_update(param.f32(), grad.f32(), m.f32(), v.f32(), n, lr, beta1, beta2, eps,
        weightDecay, 1 - Math.pow(beta1, step), 1 - Math.pow(beta2, step), gradScale);
  }

  @Override public double gradSumSquares(Tensor grad) {
    return switch (Shapes.floatType("grad_norm", grad)) {
      case F32 -> io.rewardkit.kernels.cpu.GradNorm.grad_sumsq(grad.f32(), grad.numel());
      case F64 -> io.rewardkit.kernels.cpu.GradNorm.grad_sumsq(grad.f64(), grad.numel());
      default -> throw Shapes.unsupported("grad_norm", grad.dtype());
    };
  }
}
