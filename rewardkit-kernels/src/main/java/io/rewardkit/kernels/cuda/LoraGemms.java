package io.rewardkit.kernels.cuda;

import java.util.ArrayList;
import java.util.List;

/**
 * The cuBLASLt calls of LoRA's low-rank path on the CUDA backend ({@link CudaBackend#loraForward},
 * {@link CudaBackend#loraBackward}; math in {@code native/include/rewardkit/lora.h}), written down as data so
 * that the transposes, leading dimensions, alpha/beta and order can be checked without a GPU: the backend
 * executes exactly these lists, and {@code LoraGemmPlanTest} runs them through a host column-major GEMM
 * (bf16 rounding where cuBLASLt writes bf16) against the CPU backend's float64 LoRA.
 *
 * <p>Row-major [rows, cols] is column-major [cols, rows] with ld = cols, so each row-major product is issued in
 * its transposed form, as {@link CudaBackend#linearForward} does. Shapes: x [T, I], a [r, I] (lora_A), b [O, r]
 * (lora_B), u and du [T, r], out and dOut [T, O], dx [T, I]; a, b, x, u, du, out, dOut, dx bf16; da, db fp32
 * (parameter gradients).
 *
 * <p>Why not fused into the base GEMM's epilogue: cuBLASLt's epilogues add a bias vector or apply an
 * activation; none adds a second matrix product. The only fusion is one GEMM over the concatenated inner
 * dimension, out = [x | s·u] · [W | B]ᵀ, which needs x and u (and W and B) in one buffer each, a layout the
 * Backend API (base linear, then LoRA on its result) does not have. So the low-rank product is a second GEMM
 * that accumulates into the base output in place (beta = 1), with the LoRA scale as its alpha: no extra kernel
 * and no extra pass over out. Its cost is r/I of the base GEMM's.
 */
final class LoraGemms {
  private LoraGemms() {}

  /** The tensors a call reads or writes. */
  enum Operand { X, A, B, U, OUT, DOUT, DU, DX, DA, DB }

  /**
   * One cuBLASLt call, column-major: D[m, n] = alpha · op(A) · op(B) (+ D when accumulate); D fp32 when
   * outF32, else bf16. {@code what} names the row-major product it computes.
   */
  record Gemm(String what, boolean transA, boolean transB, long m, long n, long k, float alpha, Operand a, long lda,
      Operand b, long ldb, Operand d, long ldd, boolean outF32, boolean accumulate) {}

  /** u = x · aᵀ (overwritten); out += s · u · bᵀ. */
  static List<Gemm> forward(long tokens, long in, long out, long rank, double scale) {
    List<Gemm> g = new ArrayList<>(2);
    if (tokens == 0) return g;
    // uᵀ [r, T] = op_T(aᵀ [I, r]) · xᵀ [I, T]
    g.add(new Gemm("u = x·aT", true, false, rank, tokens, in, 1f, Operand.A, in, Operand.X, in, Operand.U, rank, false, false));
    // outᵀ [O, T] += s · op_T(bᵀ [r, O]) · uᵀ [r, T]
    g.add(new Gemm("out += s·u·bT", true, false, out, tokens, rank, (float) scale, Operand.B, rank, Operand.U, rank,
        Operand.OUT, out, false, true));
    return g;
  }

  /**
   * du = s · dOut · b (overwritten), db += s · dOutᵀ · u, da += duᵀ · x, dx += du · a (when withDx). du is
   * computed first: da and dx read it.
   */
  static List<Gemm> backward(long tokens, long in, long out, long rank, double scale, boolean withDx) {
    List<Gemm> g = new ArrayList<>(4);
    if (tokens == 0) return g;
    float s = (float) scale;
    // duᵀ [r, T] = s · bᵀ [r, O] · dOutᵀ [O, T]
    g.add(new Gemm("du = s·dOut·b", false, false, rank, tokens, out, s, Operand.B, rank, Operand.DOUT, out, Operand.DU, rank,
        false, false));
    // dbᵀ [r, O] += s · uᵀ [r, T] · op_T(dOutᵀ [O, T])
    g.add(new Gemm("db += s·dOutT·u", false, true, rank, out, tokens, s, Operand.U, rank, Operand.DOUT, out, Operand.DB, rank,
        true, true));
    // daᵀ [I, r] += xᵀ [I, T] · op_T(duᵀ [r, T])
    g.add(new Gemm("da += duT·x", false, true, in, rank, tokens, 1f, Operand.X, in, Operand.DU, rank, Operand.DA, in,
        true, true));
    // dxᵀ [I, T] += aᵀ [I, r] · duᵀ [r, T]
    if (withDx) {
      g.add(new Gemm("dx += du·a", false, false, in, tokens, rank, 1f, Operand.A, in, Operand.DU, rank, Operand.DX, in,
          false, true));
    }
    return g;
  }
}
