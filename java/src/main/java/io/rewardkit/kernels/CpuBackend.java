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
  @Override public void attentionForward(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, VarlenLayout layout, double scale) {
    // Shapes and devices here; cu_seqlens / segment contents are validated by the native API.
    Shapes.require("attention_forward", q.rank() == 3 && k.rank() == 3 && java.util.Arrays.equals(k.shape(), v.shape())
        && java.util.Arrays.equals(out.shape(), q.shape()) && q.dim(0) == k.dim(0) && q.dim(2) == k.dim(2)
        && q.dim(0) == layout.totalTokens() && lse.rank() == 2 && lse.dim(0) == q.dim(1) && lse.dim(1) == q.dim(0),
        "out " + out + ", lse " + lse + ", q " + q + ", k " + k + ", v " + v + ", T " + layout.totalTokens());
    for (Tensor t : new Tensor[] {out, lse, q, k, v, layout.cuSeqlens(), layout.segmentIds()}) {
      Shapes.require("attention_forward", t == null || t.device() == Device.CPU, t + " is not a host tensor");
    }
    long tokens = q.dim(0), hq = q.dim(1), hkv = k.dim(1), hd = q.dim(2);
    var seg = layout.hasSegments() ? layout.segmentIds().i32() : null;
    switch (Shapes.floatType("attention_forward", out, lse, q, k, v)) {
      case F32 -> io.rewardkit.kernels.cpu.Attention.attention_forward(out.f32(), lse.f32(), q.f32(), k.f32(), v.f32(),
          layout.cuSeqlens().i32(), seg, layout.numSeqs(), tokens, layout.maxSeqlen(), hq, hkv, hd, scale);
      case F64 -> io.rewardkit.kernels.cpu.Attention.attention_forward(out.f64(), lse.f64(), q.f64(), k.f64(), v.f64(),
          layout.cuSeqlens().i32(), seg, layout.numSeqs(), tokens, layout.maxSeqlen(), hq, hkv, hd, scale);
      default -> throw Shapes.unsupported("attention_forward", out.dtype());
    }
  }

  @Override public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOut, Tensor q, Tensor k, Tensor v,
      Tensor out, Tensor lse, VarlenLayout layout, double scale) {
    Shapes.require("attention_backward", q.rank() == 3 && k.rank() == 3 && java.util.Arrays.equals(k.shape(), v.shape())
        && java.util.Arrays.equals(dk.shape(), k.shape()) && java.util.Arrays.equals(dv.shape(), k.shape())
        && java.util.Arrays.equals(dq.shape(), q.shape()) && java.util.Arrays.equals(dOut.shape(), q.shape())
        && java.util.Arrays.equals(out.shape(), q.shape()) && q.dim(0) == k.dim(0) && q.dim(2) == k.dim(2)
        && q.dim(0) == layout.totalTokens() && lse.rank() == 2 && lse.dim(0) == q.dim(1) && lse.dim(1) == q.dim(0),
        "dq " + dq + ", dk " + dk + ", dv " + dv + ", dOut " + dOut + ", q " + q + ", k " + k + ", v " + v
            + ", out " + out + ", lse " + lse + ", T " + layout.totalTokens());
    for (Tensor t : new Tensor[] {dq, dk, dv, dOut, q, k, v, out, lse, layout.cuSeqlens(), layout.segmentIds()}) {
      Shapes.require("attention_backward", t == null || t.device() == Device.CPU, t + " is not a host tensor");
    }
    long tokens = q.dim(0), hq = q.dim(1), hkv = k.dim(1), hd = q.dim(2);
    var seg = layout.hasSegments() ? layout.segmentIds().i32() : null;
    switch (Shapes.floatType("attention_backward", dq, dk, dv, dOut, q, k, v, out, lse)) {
      case F32 -> io.rewardkit.kernels.cpu.Attention.attention_backward(dq.f32(), dk.f32(), dv.f32(), dOut.f32(),
          q.f32(), k.f32(), v.f32(), out.f32(), lse.f32(), layout.cuSeqlens().i32(), seg,
          layout.numSeqs(), tokens, layout.maxSeqlen(), hq, hkv, hd, scale);
      case F64 -> io.rewardkit.kernels.cpu.Attention.attention_backward(dq.f64(), dk.f64(), dv.f64(), dOut.f64(),
          q.f64(), k.f64(), v.f64(), out.f64(), lse.f64(), layout.cuSeqlens().i32(), seg,
          layout.numSeqs(), tokens, layout.maxSeqlen(), hq, hkv, hd, scale);
      default -> throw Shapes.unsupported("attention_backward", dq.dtype());
    }
  }
  @Override public void swigluForward(Tensor out, Tensor gate, Tensor up) { throw todo(); }
  @Override public void swigluBackward(Tensor dGate, Tensor dUp, Tensor dOut, Tensor gate, Tensor up) { throw todo(); }
  @Override public void addInPlace(Tensor acc, Tensor x) { throw todo(); }
  @Override public void scoreForward(Tensor rewards, Tensor hidden, Tensor readout, Tensor w) { throw todo(); }
  @Override public void scoreBackward(Tensor dHidden, Tensor dw, Tensor dRewards, Tensor hidden, Tensor readout, Tensor w) { throw todo(); }

  private static UnsupportedOperationException todo() {
    return new UnsupportedOperationException("not implemented yet");
  }

  @Override public void close() {}
}
