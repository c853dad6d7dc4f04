package io.rewardkit.kernels;

import io.rewardkit.kernels.cpu.Add;
import io.rewardkit.kernels.cpu.Bias;
import io.rewardkit.kernels.cpu.BiasParams;
import io.rewardkit.kernels.cpu.Embedding;
import io.rewardkit.kernels.cpu.LinearCrossEntropy;
import io.rewardkit.kernels.cpu.PreferenceLoss;
import io.rewardkit.kernels.cpu.Lora;
import io.rewardkit.kernels.cpu.Nf4;
import io.rewardkit.kernels.cpu.EmbeddingParams;
import io.rewardkit.kernels.cpu.RewardKitCpu;
import io.rewardkit.kernels.cpu.RmsNorm;
import io.rewardkit.kernels.cpu.RmsNormParams;
import io.rewardkit.kernels.cpu.Rope;
import io.rewardkit.kernels.cpu.RopeParams;
import io.rewardkit.kernels.cpu.Score;
import io.rewardkit.kernels.cpu.ScoreParams;
import io.rewardkit.kernels.cpu.Swiglu;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * The CPU backend: C++17/OpenMP reference kernels (librewardkit_cpu) for every op, and OpenBLAS
 * (Bytedeco preset) for the GEMMs: F32 GEMMs striped over the same OpenMP threads as the kernels
 * ({@link CpuBlas#sgemm}), each stripe a single-threaded OpenBLAS call. Works on F32 and, for gradient checks, F64.
 */
public final class CpuBackend implements Backend {

  /** The warning printed (stderr, once per backend) when bf16 matmuls are asked for on a CPU without AVX512-BF16. */
  public static final String NO_BF16_WARNING = "rewardkit: this CPU has no AVX512-BF16; matmuls stay fp32";

  /** True: the F32 linear GEMMs run in bf16 with fp32 accumulation ({@link CpuBlas#bf16Gemm}). */
  private final boolean bf16;

  /** fp32 GEMMs everywhere. */
  public CpuBackend() {
    this(false);
  }

  /**
   * With {@code bf16Matmuls} the decoder linears ({@link #linearForward}, both GEMMs of {@link #linearBackward}) on
   * F32 tensors use the bf16 GEMM when the CPU has AVX512-BF16; elsewhere {@link #NO_BF16_WARNING} goes to stderr
   * and they stay fp32. Everything else (attention, norms, score head, LM head, optimizer, F64) is fp32 either way.
   */
  public CpuBackend(boolean bf16Matmuls) {
    RewardKitCpu.load();
    CpuBlas.load();
    this.bf16 = bf16Matmuls && CpuBlas.bf16Supported();
    if (bf16Matmuls && !bf16) System.err.println(NO_BF16_WARNING);
  }

  @Override public String name() {
    return "cpu (" + Runtime.getRuntime().availableProcessors() + " threads, OpenBLAS" + (bf16 ? ", bf16 matmuls" : "") + ")";
  }

  /** The linears' GEMM precision in effect: "bf16" (bf16 operands, fp32 accumulation) or "fp32". */
  @Override public String matmulPrecision() { return bf16 ? "bf16" : "fp32"; }
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
    DType type = Shapes.floatType("rmsnorm", out, rstd, x, w);
    try (RmsNormParams p = OpParams.rmsnorm(rows, dim, eps)) {
      switch (type) {
        case F32 -> RmsNorm.rmsnorm_forward(out.f32(), rstd.f32(), x.f32(), w.f32(), p);
        case F64 -> RmsNorm.rmsnorm_forward(out.f64(), rstd.f64(), x.f64(), w.f64(), p);
        default -> throw Shapes.unsupported("rmsnorm", out.dtype());
      }
    }
  }

  @Override public void residualRmsnormForward(Tensor y, Tensor out, Tensor rstd, Tensor x, Tensor delta, Tensor w,
      double eps) {
    long dim = w.numel(), rows = x.numel() / dim;
    Shapes.require("residual_rmsnorm", x.numel() == rows * dim && delta.numel() == x.numel() && y.numel() == x.numel()
        && out.numel() == x.numel() && rstd.numel() == rows,
        "y " + y + ", out " + out + ", x " + x + ", delta " + delta + ", w " + w + ", rstd " + rstd);
    DType type = Shapes.floatType("residual_rmsnorm", y, out, rstd, x, delta, w);
    try (RmsNormParams p = OpParams.rmsnorm(rows, dim, eps)) {
      switch (type) {
        case F32 -> RmsNorm.residual_rmsnorm_forward(y.f32(), out.f32(), rstd.f32(), x.f32(), delta.f32(), w.f32(), p);
        case F64 -> RmsNorm.residual_rmsnorm_forward(y.f64(), out.f64(), rstd.f64(), x.f64(), delta.f64(), w.f64(), p);
        default -> throw Shapes.unsupported("residual_rmsnorm", y.dtype());
      }
    }
  }

  @Override public void rmsnormBackward(Tensor dx, Tensor dw, Tensor dOut, Tensor x, Tensor w, Tensor rstd,
      boolean accumulateDx) {
    long dim = w.numel(), rows = x.numel() / dim;
    Shapes.require("rmsnorm_backward", dx.numel() == x.numel() && dOut.numel() == x.numel()
        && dw.numel() == dim && rstd.numel() == rows, "dx " + dx + ", x " + x + ", w " + w);
    DType type = Shapes.floatType("rmsnorm_backward", dx, dw, dOut, x, w, rstd);
    try (RmsNormParams p = OpParams.rmsnormBackward(rows, dim, accumulateDx)) {
      switch (type) {
        case F32 -> RmsNorm.rmsnorm_backward(dx.f32(), dw.f32(), dOut.f32(), x.f32(), w.f32(), rstd.f32(), p);
        case F64 -> RmsNorm.rmsnorm_backward(dx.f64(), dw.f64(), dOut.f64(), x.f64(), w.f64(), rstd.f64(), p);
        default -> throw Shapes.unsupported("rmsnorm_backward", dx.dtype());
      }
    }
  }

  // embedding ---------------------------------------------------------------------------------

  @Override public void embeddingForward(Tensor out, Tensor ids, Tensor table) {
    Shapes.require("embedding", table.rank() == 2 && ids.dtype() == DType.I32
        && out.numel() == ids.numel() * table.dim(1), "out " + out + ", ids " + ids + ", table " + table);
    DType type = Shapes.floatType("embedding", out, table);
    try (EmbeddingParams p = OpParams.embedding(ids, table)) {
      switch (type) {
        case F32 -> Embedding.embedding_forward(out.f32(), ids.i32(), table.f32(), p);
        case F64 -> Embedding.embedding_forward(out.f64(), ids.i32(), table.f64(), p);
        default -> throw Shapes.unsupported("embedding", out.dtype());
      }
    }
  }

  @Override public void embeddingBackward(Tensor dTable, Tensor dOut, Tensor ids) {
    Shapes.require("embedding_backward", dTable.rank() == 2 && ids.dtype() == DType.I32
        && dOut.numel() == ids.numel() * dTable.dim(1), "dTable " + dTable + ", dOut " + dOut + ", ids " + ids);
    DType type = Shapes.floatType("embedding_backward", dTable, dOut);
    try (EmbeddingParams p = OpParams.embedding(ids, dTable)) {
      switch (type) {
        case F32 -> Embedding.embedding_backward(dTable.f32(), dOut.f32(), ids.i32(), p);
        case F64 -> Embedding.embedding_backward(dTable.f64(), dOut.f64(), ids.i32(), p);
        default -> throw Shapes.unsupported("embedding_backward", dTable.dtype());
      }
    }
  }

  // linear: GEMMs in OpenBLAS (row-major; F32 striped over OpenMP threads), bias in librewardkit_cpu --------------------------------

  @Override public void linearForward(Tensor out, Tensor x, Tensor w, Tensor bias) {
    Shapes.require("linear", w.rank() == 2 && w.numel() > 0, "w " + w + " must be [O, I] with O, I > 0");
    long outF = w.dim(0), inF = w.dim(1), tokens = x.numel() / inF;
    Shapes.require("linear", x.numel() == tokens * inF && out.numel() == tokens * outF
        && (bias == null || bias.numel() == outF) && fitsBlas(tokens, outF, inF),
        "out " + out + ", x " + x + ", w " + w + ", bias " + bias);
    int t = (int) tokens, o = (int) outF, i = (int) inF;
    DType type = Shapes.floatType("linear", out, x, w, bias);
    if (type != DType.F32 && type != DType.F64) throw Shapes.unsupported("linear", type);
    if (tokens == 0) return;
    // out[T, O] = x[T, I] · w[O, I]ᵀ
    if (type == DType.F32 && bf16) {
      // Every row is summed in one fixed order whatever the row count or offset: no padding needed.
      CpuBlas.bf16Gemm(false, false, true, t, o, i, 1f, x.f32(), i, w.f32(), i, 0f, out.f32(), o);
    } else if (type == DType.F32) {
      // Whole row tiles in place, the last (t % ROW_TILE) rows through a zero-padded call (see rowInvariantRows).
      int start = t / ROW_TILE * ROW_TILE;
      if (start > 0 && rowInvariantRows(start, o, i) == start) {
        CpuBlas.sgemm(false, false, true, start, o, i, 1f, x.f32(), i, w.f32(), i, 0f, out.f32(), o);
      } else {
        start = 0;
      }
      int rest = t - start;
      if (rest > 0) {
        int rows = Math.max(rest, rowInvariantRows(rest, o, i));
        rows = (rows + ROW_TILE - 1) / ROW_TILE * ROW_TILE;
        try (Tensor xp = Tensor.host(DType.F32, rows, i); Tensor op = Tensor.host(DType.F32, rows, o)) {
          Pointer.memcpy(xp.f32(), x.f32().getPointer((long) start * i), (long) rest * i * Float.BYTES);
          CpuBlas.sgemm(false, false, true, rows, o, i, 1f, xp.f32(), i, w.f32(), i, 0f, op.f32(), o);
          Pointer.memcpy(out.f32().getPointer((long) start * o), op.f32(), (long) rest * o * Float.BYTES);
        }
      }
    } else {
      openblas_nolapack.cblas_dgemm(ROW_MAJOR, NO_TRANS, TRANS, t, o, i, 1d, x.f64(), i, w.f64(), i, 0d, out.f64(), o);
    }
    if (bias != null) {
      try (BiasParams p = OpParams.bias(tokens, outF)) {
        if (type == DType.F32) Bias.bias_forward(out.f32(), bias.f32(), p);
        else Bias.bias_forward(out.f64(), bias.f64(), p);
      }
    }
  }

  /**
   * Rows to run an F32 linear with so that each row's result does not depend on how many rows the
   * call has (a reward must not depend on its batch companions). OpenBLAS on AVX-512 cores
   * (SkylakeX, Cooperlake) hands tiny products of this shape (out x tokens <= 1200, K >= 32,
   * M·N·K <= 10^6: sgemm_small_kernel_permit) to a small-matrix kernel that sums in another order
   * than its main kernel, so the same row differs in the last bits between a 10-token and a
   * 1000-token call. Such calls run with zero rows appended up to the first size past that bound
   * (at most 1200/out + 1 rows: negligible work); others are unchanged.
   *
   * <p>Besides, OpenBLAS computes the rows of C in tiles (12 rows on its Haswell/Zen kernels, 8/16 on others) and
   * sums a last, partial tile in another order than a full one. linearForward therefore runs the whole
   * {@link #ROW_TILE}-row tiles of x in place and the remaining rows through a call padded with zero rows to a
   * whole tile (and past the small-matrix bound): every row is computed in a full tile, whatever the row count.
   * The GEMM's row stripes over threads start on multiples of the same tile (gemm.cpp), so the thread count does
   * not change a row either.
   *
   * <p>What this does not give: a row's bits still depend on its position inside a tile (on the Haswell kernel,
   * positions 0-5 and 6-11 of each 12 round differently), so a sequence packed at another offset can differ in
   * the last bit (a reward alone vs among others: within 1e-6, BatchInvarianceTest).
   */
  static int rowInvariantRows(int tokens, int out, int in) {
    if (in < 32 || (long) tokens * out > 1200 || (double) tokens * out * in > 1e6) return tokens;
    return 1200 / out + 1;
  }

  @Override public void nf4Dequantize(Tensor out, Nf4Weight w) {
    Shapes.require("nf4_dequantize", out.numel() == w.numel(), "out " + out + " for a weight of " + w.numel() + " elements");
    BytePointer packed = w.packedTensor().bytePointer(), q = w.absmaxCodesTensor().bytePointer();
    switch (out.dtype()) {
      case F32 -> Nf4.nf4_dequantize(out.f32(), packed, q, w.absmax2Tensor().f32(), w.offset(), w.numel());
      case F64 -> Nf4.nf4_dequantize(out.f64(), packed, q, w.absmax2Tensor().f32(), w.offset(), w.numel());
      default -> throw Shapes.unsupported("nf4_dequantize", out.dtype());
    }
  }

  /** C = op(A) · op(B) + beta · C for the linears' backward: the bf16 GEMM with --bf16, else the striped sgemm. */
  private void gemmF32(boolean allowColumns, boolean transA, boolean transB, int m, int n, int k, FloatPointer a, int lda,
      FloatPointer b, int ldb, float beta, FloatPointer c, int ldc) {
    if (bf16) CpuBlas.bf16Gemm(allowColumns, transA, transB, m, n, k, 1f, a, lda, b, ldb, beta, c, ldc);
    else CpuBlas.sgemm(allowColumns, transA, transB, m, n, k, 1f, a, lda, b, ldb, beta, c, ldc);
  }

  @Override public void linearBackward(Tensor dx, Tensor dw, Tensor dBias, Tensor dOut, Tensor x, Tensor w) {
    Shapes.require("linear_backward", w.rank() == 2 && w.numel() > 0, "w " + w + " must be [O, I] with O, I > 0");
    long outF = w.dim(0), inF = w.dim(1), tokens = x.numel() / inF;
    Shapes.require("linear_backward", x.numel() == tokens * inF && dOut.numel() == tokens * outF
        && (dx == null || dx.numel() == x.numel()) && (dw == null || dw.numel() == w.numel())
        && (dBias == null || dBias.numel() == outF) && fitsBlas(tokens, outF, inF),
        "dx " + dx + ", dw " + dw + ", dBias " + dBias + ", dOut " + dOut + ", x " + x + ", w " + w);
    int t = (int) tokens, o = (int) outF, i = (int) inF;
    DType type = Shapes.floatType("linear_backward", dx, dw, dBias, dOut, x, w);
    if (type != DType.F32 && type != DType.F64) throw Shapes.unsupported("linear_backward", type);
    if (tokens == 0) {  // nothing to accumulate; an empty dx needs no writes
      return;
    }
    if (type == DType.F32) {
      // dx[T, I] = dOut[T, O] · w[O, I]   (beta 0: overwrite)
      if (dx != null) gemmF32(false, false, false, t, i, o, dOut.f32(), o, w.f32(), i, 0f, dx.f32(), i);
      // dw[O, I] += dOut[T, O]ᵀ · x[T, I]   (beta 1: accumulate)
      if (dw != null) gemmF32(true, true, false, o, i, t, dOut.f32(), o, x.f32(), i, 1f, dw.f32(), i);
      if (dBias != null) {
        try (BiasParams p = OpParams.bias(tokens, outF)) { Bias.bias_backward(dBias.f32(), dOut.f32(), p); }
      }
    } else {
      if (dx != null) openblas_nolapack.cblas_dgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, t, i, o, 1d, dOut.f64(), o, w.f64(), i, 0d, dx.f64(), i);
      if (dw != null) openblas_nolapack.cblas_dgemm(ROW_MAJOR, TRANS, NO_TRANS, o, i, t, 1d, dOut.f64(), o, x.f64(), i, 1d, dw.f64(), i);
      if (dBias != null) {
        try (BiasParams p = OpParams.bias(tokens, outF)) { Bias.bias_backward(dBias.f64(), dOut.f64(), p); }
      }
    }
  }

  // lora: the low-rank path beside a frozen linear, in librewardkit_cpu -----------------------------

  @Override public void loraForward(Tensor out, Tensor u, Tensor x, Tensor a, Tensor b, double scale) {
    Shapes.require("lora_forward", a.rank() == 2 && b.rank() == 2 && a.dim(0) == b.dim(1) && a.numel() > 0 && b.numel() > 0,
        "a " + a + " must be [r, I] and b " + b + " [O, r]");
    long rank = a.dim(0), inF = a.dim(1), outF = b.dim(0), tokens = x.numel() / inF;
    Shapes.require("lora_forward", x.numel() == tokens * inF && out.numel() == tokens * outF && u.numel() == tokens * rank,
        "out " + out + ", u " + u + ", x " + x + ", a " + a + ", b " + b);
    switch (Shapes.floatType("lora_forward", out, u, x, a, b)) {
      case F32 -> Lora.lora_forward(out.f32(), u.f32(), x.f32(), a.f32(), b.f32(), tokens, inF, outF, rank, scale);
      case F64 -> Lora.lora_forward(out.f64(), u.f64(), x.f64(), a.f64(), b.f64(), tokens, inF, outF, rank, scale);
      default -> throw Shapes.unsupported("lora_forward", out.dtype());
    }
  }

  @Override public void loraBackward(Tensor dx, Tensor da, Tensor db, Tensor du, Tensor dOut, Tensor x, Tensor u, Tensor a,
      Tensor b, double scale) {
    Shapes.require("lora_backward", a.rank() == 2 && b.rank() == 2 && a.dim(0) == b.dim(1) && a.numel() > 0 && b.numel() > 0,
        "a " + a + " must be [r, I] and b " + b + " [O, r]");
    long rank = a.dim(0), inF = a.dim(1), outF = b.dim(0), tokens = x.numel() / inF;
    Shapes.require("lora_backward", x.numel() == tokens * inF && dOut.numel() == tokens * outF && u.numel() == tokens * rank
        && du.numel() == tokens * rank && da.numel() == a.numel() && db.numel() == b.numel() && (dx == null || dx.numel() == x.numel()),
        "dx " + dx + ", da " + da + ", db " + db + ", du " + du + ", dOut " + dOut + ", x " + x + ", u " + u + ", a " + a + ", b " + b);
    switch (Shapes.floatType("lora_backward", dx, da, db, du, dOut, x, u, a, b)) {
      case F32 -> Lora.lora_backward(dx == null ? null : dx.f32(), da.f32(), db.f32(), du.f32(), dOut.f32(), x.f32(), u.f32(),
          a.f32(), b.f32(), tokens, inF, outF, rank, scale);
      case F64 -> Lora.lora_backward(dx == null ? null : dx.f64(), da.f64(), db.f64(), du.f64(), dOut.f64(), x.f64(), u.f64(),
          a.f64(), b.f64(), tokens, inF, outF, rank, scale);
      default -> throw Shapes.unsupported("lora_backward", dOut.dtype());
    }
  }

  /** Rows of the row tiles a linear's output is computed in: gemm.h's kRowTile, the striped GEMM's row unit. */
  static final int ROW_TILE = io.rewardkit.kernels.cpu.Gemm.row_tile();

  private static final int ROW_MAJOR = openblas_nolapack.CblasRowMajor;
  private static final int NO_TRANS = openblas_nolapack.CblasNoTrans;
  private static final int TRANS = openblas_nolapack.CblasTrans;

  /** CBLAS takes 32-bit sizes and leading dimensions. */
  private static boolean fitsBlas(long tokens, long outF, long inF) {
    return tokens <= Integer.MAX_VALUE && outF <= Integer.MAX_VALUE && inF <= Integer.MAX_VALUE;
  }

  // rope ----------------------------------------------------------------------------------------

  @Override public void ropeForward(Tensor x, Tensor positions, Tensor cos, Tensor sin) {
    rope("rope", false, x, positions, cos, sin);
  }

  @Override public void ropeBackward(Tensor dx, Tensor positions, Tensor cos, Tensor sin) {
    rope("rope_backward", true, dx, positions, cos, sin);
  }

  private static void rope(String op, boolean backward, Tensor x, Tensor positions, Tensor cos, Tensor sin) {
    Shapes.require(op, cos.rank() == 2 && cos.dim(1) > 0 && java.util.Arrays.equals(cos.shape(), sin.shape())
        && positions.dtype() == DType.I32, "cos " + cos + " and sin " + sin + " must be [maxPos, hd/2]; positions " + positions);
    long tokens = positions.numel(), maxPos = cos.dim(0), headDim = 2 * cos.dim(1);
    long heads = tokens == 0 ? 0 : x.numel() / (tokens * headDim);
    Shapes.require(op, tokens == 0 ? x.numel() == 0 : heads > 0 && x.numel() == tokens * heads * headDim,
        "x " + x + " must be [T, H, hd] with T = " + tokens + " positions and hd = " + headDim);
    if (tokens == 0) return;
    DType type = Shapes.floatType(op, x, cos, sin);
    try (RopeParams p = OpParams.rope(tokens, heads, headDim, maxPos)) {
      switch (type) {
        case F32 -> {
          if (backward) Rope.rope_backward(x.f32(), positions.i32(), cos.f32(), sin.f32(), p);
          else Rope.rope_forward(x.f32(), positions.i32(), cos.f32(), sin.f32(), p);
        }
        case F64 -> {
          if (backward) Rope.rope_backward(x.f64(), positions.i32(), cos.f64(), sin.f64(), p);
          else Rope.rope_forward(x.f64(), positions.i32(), cos.f64(), sin.f64(), p);
        }
        default -> throw Shapes.unsupported(op, x.dtype());
      }
    }
  }

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

  // swiglu, residual add ------------------------------------------------------------------------

  @Override public void swigluForward(Tensor out, Tensor gate, Tensor up) {
    long n = gate.numel();
    Shapes.require("swiglu", up.numel() == n && out.numel() == n, "out " + out + ", gate " + gate + ", up " + up);
    switch (Shapes.floatType("swiglu", out, gate, up)) {
      case F32 -> Swiglu.swiglu_forward(out.f32(), gate.f32(), up.f32(), n);
      case F64 -> Swiglu.swiglu_forward(out.f64(), gate.f64(), up.f64(), n);
      default -> throw Shapes.unsupported("swiglu", out.dtype());
    }
  }

  @Override public void swigluBackward(Tensor dGate, Tensor dUp, Tensor dOut, Tensor gate, Tensor up) {
    long n = gate.numel();
    Shapes.require("swiglu_backward", up.numel() == n && dOut.numel() == n && dGate.numel() == n && dUp.numel() == n,
        "dGate " + dGate + ", dUp " + dUp + ", dOut " + dOut + ", gate " + gate + ", up " + up);
    switch (Shapes.floatType("swiglu_backward", dGate, dUp, dOut, gate, up)) {
      case F32 -> Swiglu.swiglu_backward(dGate.f32(), dUp.f32(), dOut.f32(), gate.f32(), up.f32(), n);
      case F64 -> Swiglu.swiglu_backward(dGate.f64(), dUp.f64(), dOut.f64(), gate.f64(), up.f64(), n);
      default -> throw Shapes.unsupported("swiglu_backward", dGate.dtype());
    }
  }

  @Override public void addInPlace(Tensor acc, Tensor x) { add(acc, acc, x); }

  @Override public void add(Tensor out, Tensor a, Tensor b) {
    long n = out.numel();
    Shapes.require("add", a.numel() == n && b.numel() == n, "out " + out + ", a " + a + ", b " + b);
    switch (Shapes.floatType("add", out, a, b)) {
      case F32 -> Add.add_out(out.f32(), a.f32(), b.f32(), n);
      case F64 -> Add.add_out(out.f64(), a.f64(), b.f64(), n);
      default -> throw Shapes.unsupported("add", out.dtype());
    }
  }

  // score head ----------------------------------------------------------------------------------

  @Override public void scoreForward(Tensor rewards, Tensor hidden, Tensor readout, Tensor w) {
    long dim = w.numel(), tokens = dim == 0 ? 0 : hidden.numel() / dim, readouts = readout.numel();
    Shapes.require("score", dim > 0 && hidden.numel() == tokens * dim && rewards.numel() == readouts
        && readout.dtype() == DType.I32, "rewards " + rewards + ", hidden " + hidden + ", readout " + readout + ", w " + w);
    DType type = Shapes.floatType("score", rewards, hidden, w);
    try (ScoreParams p = OpParams.score(tokens, dim, readouts)) {
      switch (type) {
        case F32 -> Score.score_forward(rewards.f32(), hidden.f32(), readout.i32(), w.f32(), p);
        case F64 -> Score.score_forward(rewards.f64(), hidden.f64(), readout.i32(), w.f64(), p);
        default -> throw Shapes.unsupported("score", rewards.dtype());
      }
    }
  }

  @Override public void scoreBackward(Tensor dHidden, Tensor dw, Tensor dRewards, Tensor hidden, Tensor readout, Tensor w) {
    long dim = w.numel(), tokens = dim == 0 ? 0 : hidden.numel() / dim, readouts = readout.numel();
    Shapes.require("score_backward", dim > 0 && hidden.numel() == tokens * dim && dHidden.numel() == hidden.numel()
        && dw.numel() == dim && dRewards.numel() == readouts && readout.dtype() == DType.I32,
        "dHidden " + dHidden + ", dw " + dw + ", dRewards " + dRewards + ", hidden " + hidden + ", readout " + readout + ", w " + w);
    DType type = Shapes.floatType("score_backward", dHidden, dw, dRewards, hidden, w);
    try (ScoreParams p = OpParams.score(tokens, dim, readouts)) {
      switch (type) {
        case F32 -> Score.score_backward(dHidden.f32(), dw.f32(), dRewards.f32(), hidden.f32(), readout.i32(), w.f32(), p);
        case F64 -> Score.score_backward(dHidden.f64(), dw.f64(), dRewards.f64(), hidden.f64(), readout.i32(), w.f64(), p);
        default -> throw Shapes.unsupported("score_backward", dHidden.dtype());
      }
    }
  }

  // policy head (fused linear cross-entropy) -----------------------------------------------------

  @Override public void linearCrossEntropyForward(Tensor logp, Tensor lse, Tensor hidden, Tensor w, Tensor targets) {
    long dim = w.rank() == 2 ? w.dim(1) : 0, vocab = w.rank() == 2 ? w.dim(0) : 0, tokens = targets.numel();
    Shapes.require("linear_cross_entropy", dim > 0 && hidden.numel() == tokens * dim && logp.numel() == tokens
        && lse.numel() == tokens && targets.dtype() == DType.I32,
        "logp " + logp + ", lse " + lse + ", hidden " + hidden + ", w " + w + ", targets " + targets);
    switch (Shapes.floatType("linear_cross_entropy", logp, lse, hidden, w)) {
      case F32 -> LinearCrossEntropy.linear_cross_entropy_forward(logp.f32(), lse.f32(), hidden.f32(), w.f32(),
          targets.i32(), tokens, dim, vocab, 0, 0);
      case F64 -> LinearCrossEntropy.linear_cross_entropy_forward(logp.f64(), lse.f64(), hidden.f64(), w.f64(),
          targets.i32(), tokens, dim, vocab, 0, 0);
      default -> throw Shapes.unsupported("linear_cross_entropy", logp.dtype());
    }
  }

  @Override public void linearCrossEntropyBackward(Tensor dHidden, Tensor dw, Tensor dLogp, Tensor lse, Tensor hidden,
      Tensor w, Tensor targets) {
    long dim = w.rank() == 2 ? w.dim(1) : 0, vocab = w.rank() == 2 ? w.dim(0) : 0, tokens = targets.numel();
    Shapes.require("linear_cross_entropy_backward", dim > 0 && hidden.numel() == tokens * dim
        && dHidden.numel() == hidden.numel() && (dw == null || dw.numel() == w.numel()) && dLogp.numel() == tokens
        && lse.numel() == tokens && targets.dtype() == DType.I32,
        "dHidden " + dHidden + ", dw " + dw + ", dLogp " + dLogp + ", lse " + lse + ", hidden " + hidden + ", w " + w);
    switch (Shapes.floatType("linear_cross_entropy_backward", dHidden, dw, dLogp, lse, hidden, w)) {
      case F32 -> LinearCrossEntropy.linear_cross_entropy_backward(dHidden.f32(), f32(dw), dLogp.f32(), lse.f32(),
          hidden.f32(), w.f32(), targets.i32(), tokens, dim, vocab, 0, 0);
      case F64 -> LinearCrossEntropy.linear_cross_entropy_backward(dHidden.f64(), f64(dw), dLogp.f64(), lse.f64(),
          hidden.f64(), w.f64(), targets.i32(), tokens, dim, vocab, 0, 0);
      default -> throw Shapes.unsupported("linear_cross_entropy_backward", dHidden.dtype());
    }
  }


  @Override public void close() {}

  // ---- training ops (fused loss, optimizer, gradient norm) ------------------------------------

  @Override public double[] preferenceLoss(PreferenceLossInputs in, PreferenceLossSpec spec, double gradScale) {
    String op = "preference_loss";
    in.check(op);
    long s = in.numResponses(), p = in.numPairs(), k = in.numKl();
    double[] stats = new double[PreferenceLossSpec.NUM_STATS];
    try (org.bytedeco.javacpp.DoublePointer out = new org.bytedeco.javacpp.DoublePointer(stats.length)) {
      switch (Shapes.floatType(op, in.logps(), in.refLogps(), in.promptLogps(), in.klLogps(), in.refKlLogps(),
          in.dLogps(), in.dPromptLogps())) {
        case F32 -> PreferenceLoss.preference_loss_forward_backward(in.logps().f32(), f32(in.refLogps()), in.lengths().i32(),
            f32(in.promptLogps()), i32(in.promptLengths()), i32(in.chosen()), i32(in.rejected()), i32(in.labels()),
            f32(in.klLogps()), f32(in.refKlLogps()), f32(in.dLogps()), f32(in.dPromptLogps()), out, s, p, k,
            spec.lossType(), spec.beta(), spec.labelSmoothing(), spec.nllAlpha(), spec.simpoGamma(),
            spec.desirableWeight(), spec.undesirableWeight(), gradScale);
        case F64 -> PreferenceLoss.preference_loss_forward_backward(in.logps().f64(), f64(in.refLogps()), in.lengths().i32(),
            f64(in.promptLogps()), i32(in.promptLengths()), i32(in.chosen()), i32(in.rejected()), i32(in.labels()),
            f64(in.klLogps()), f64(in.refKlLogps()), f64(in.dLogps()), f64(in.dPromptLogps()), out, s, p, k,
            spec.lossType(), spec.beta(), spec.labelSmoothing(), spec.nllAlpha(), spec.simpoGamma(),
            spec.desirableWeight(), spec.undesirableWeight(), gradScale);
        default -> throw Shapes.unsupported(op, in.logps().dtype());
      }
      out.get(stats);
    }
    return stats;
  }

  private static org.bytedeco.javacpp.FloatPointer f32(Tensor t) { return t == null ? null : t.f32(); }
  private static org.bytedeco.javacpp.DoublePointer f64(Tensor t) { return t == null ? null : t.f64(); }
  private static org.bytedeco.javacpp.IntPointer i32(Tensor t) { return t == null ? null : t.i32(); }

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

  @Override public void adamwUpdate(Tensor master, Tensor weights, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
    long n = master.numel();
    Shapes.require("adamw", grad.numel() == n && m.numel() == n && v.numel() == n && weights.numel() == n,
        "master " + master + ", weights " + weights + ", grad " + grad + ", m " + m + ", v " + v);
    if (Shapes.floatType("adamw", master, grad, m, v) != DType.F32) throw Shapes.unsupported("adamw", master.dtype());
    try (io.rewardkit.kernels.cpu.AdamWParams p = OpParams.adamw(n, step)) {
      io.rewardkit.kernels.cpu.AdamW.adamw_update(master.f32(), grad.f32(), m.f32(), v.f32(), p);
    }
    if (weights != master) copy(weights, master);  // CPU weights are F32: a separate working copy is just a copy
  }

  @Override public double gradSumSquares(Tensor grad) {
    return switch (Shapes.floatType("grad_norm", grad)) {
      case F32 -> io.rewardkit.kernels.cpu.GradNorm.grad_sumsq(grad.f32(), grad.numel());
      case F64 -> io.rewardkit.kernels.cpu.GradNorm.grad_sumsq(grad.f64(), grad.numel());
      default -> throw Shapes.unsupported("grad_norm", grad.dtype());
    };
  }
}
