package io.rewardkit.kernels.cuda;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.CudaSupport;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Device;
import io.rewardkit.kernels.PreferenceLossInputs;
import io.rewardkit.kernels.PreferenceLossSpec;
import io.rewardkit.kernels.Nf4Weight;
import io.rewardkit.kernels.OpParams;
import io.rewardkit.kernels.Shapes;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.kernels.VarlenLayout;
import io.rewardkit.kernels.cpu.BiasParams;
import io.rewardkit.kernels.cpu.EmbeddingParams;
import io.rewardkit.kernels.cpu.RmsNormParams;
import io.rewardkit.kernels.cpu.RopeParams;
import io.rewardkit.kernels.cpu.ScoreParams;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.ShortPointer;

/**
 * The CUDA backend: RewardKit's own kernels (librewardkit_cuda, statically linked CUDA runtime)
 * for every op, cuBLASLt (Bytedeco preset, via {@link CublasLt}) for the GEMMs.
 *
 * <p>One CUDA runtime owns all state: device memory, the stream and every kernel launch go through
 * the static runtime inside librewardkit_cuda, so {@code cudaSetDevice}, errors and allocations are
 * tracked in one place and the probe, which must work without a driver, uses the same runtime.
 * cuBLASLt (whose Bytedeco binding loads the dynamic libcudart) only receives raw device pointers
 * and the stream handle; both are valid across runtimes because both use the device's primary
 * context.
 *
 * <p>Dtypes: activations and weights BF16 ({@link #computeType()}); parameter gradients, RMSNorm
 * rstd, attention LSE, rewards and their gradients F32 (fp32 accumulation across micro-batches).
 * Device tensors come from arenas: {@link #parameters()}, {@link #gradients()}, {@link #optimizerState()}
 * are allocated once; {@link #activations()} is reset every step (no cudaMalloc after warm-up);
 * {@link #allocate} uses a caching allocator (a closed tensor's block is reused, so per-step
 * allocate/close also stops calling cudaMalloc after warm-up).
 */
public final class CudaBackend implements Backend {
  private static final long CHUNK = 64L << 20;
  private static final long GEMM_WORKSPACE = 32L << 20;

  private final int deviceIndex;
  private final long stream;
  private final DeviceCache general = new DeviceCache();
  private final DeviceArena params = new DeviceArena("parameters", CHUNK);
  private final DeviceArena grads = new DeviceArena("gradients", CHUNK);
  private final DeviceArena optimizer = new DeviceArena("optimizer", CHUNK);
  private final DeviceArena activations = new DeviceArena("activations", CHUNK);
  private final long gemmWorkspace;
  private final CublasLt blas;
  private final String description;
  private long scratch;
  private long scratchBytes;
  private boolean deterministic = true;

  public CudaBackend(int deviceIndex) {
    CudaSupport.Probe probe = CudaSupport.probe();
    if (!probe.available()) throw new io.rewardkit.kernels.BackendUnavailableException("--device cuda: no CUDA device (" + probe.detail() + ")");
    this.deviceIndex = deviceIndex;
    this.description = probe.detail();
    CudaRuntime.set_device(deviceIndex);
    this.stream = CudaRuntime.stream_create();
    long ws = 0;
    try {
      ws = CudaRuntime.device_malloc(GEMM_WORKSPACE);
      this.gemmWorkspace = ws;
      this.blas = new CublasLt(stream, ws, GEMM_WORKSPACE);
    } catch (RuntimeException e) {
      if (ws != 0) CudaRuntime.device_free(ws);
      CudaRuntime.stream_destroy(stream);
      throw e;
    }
  }

  @Override public String name() { return "cuda:" + deviceIndex + " (" + description + ")"; }
  @Override public Device device() { return Device.CUDA; }
  @Override public DType computeType() { return DType.BF16; }

  /** The flash kernels' limits (native/cuda/flash_fwd.cu validate()): one rule, stated here for load time. */
  public static final int MAX_HEAD_DIM = 256;

  @Override public String attentionShapeProblem(int headDim, int numHeads, int numKvHeads) {
    return flashShapeProblem(headDim, numHeads, numKvHeads);
  }

  /**
   * Null when cuBLASLt (Bytedeco's binding and the CUDA 13 libraries it links) loads, else why not.
   * Call only after the probe found a GPU: without a driver Bytedeco's classes break for the JVM.
   */
  public static String gemmLibraryProblem() { return CublasLt.loadProblem(); }

  /** Same as {@link #attentionShapeProblem}, usable without a GPU (tests, load-time checks). */
  public static String flashShapeProblem(int headDim, int numHeads, int numKvHeads) {
    if (headDim < 8 || headDim > MAX_HEAD_DIM || headDim % 8 != 0) {
      return "the CUDA flash-attention kernels take a head_dim that is a multiple of 8 from 8 to " + MAX_HEAD_DIM
          + ", got " + headDim;
    }
    if (numHeads > 65535) return "the CUDA flash-attention kernels take at most 65535 attention heads, got " + numHeads;
    return null;
  }

  /** Deterministic mode (default on): attention dQ without float atomics. */
  public void setDeterministic(boolean on) { this.deterministic = on; }

  public DeviceArena parameters() { return params; }
  public DeviceArena gradients() { return grads; }
  public DeviceArena optimizerState() { return optimizer; }
  public DeviceArena activations() { return activations; }

  /** cudaMalloc calls so far over all arenas and scratch growth (stops growing after warm-up). */
  public long mallocCount() {
    return general.mallocCount() + params.mallocCount() + grads.mallocCount() + optimizer.mallocCount()
        + activations.mallocCount() + scratchGrowths;
  }

  private long scratchGrowths;

  /** Scratch device memory for workspaces; grows (rarely, during warm-up), never shrinks. */
  private long scratch(long bytes) {
    if (bytes > scratchBytes) {
      if (scratch != 0) CudaRuntime.device_free(scratch);  // cudaFree waits for pending work
      scratchBytes = Math.max(bytes, 1L << 20);
      scratch = CudaRuntime.device_malloc(scratchBytes);
      scratchGrowths++;
    }
    return scratch;
  }

  // ---- memory ---------------------------------------------------------------------------------

  @Override public Tensor allocate(DType dtype, long... shape) {
    Tensor t = general.allocate(dtype, shape);
    zero(t);
    return t;
  }

  /** Allocates a zeroed tensor in a given arena of this backend. */
  public Tensor allocate(DeviceArena arena, DType dtype, long... shape) {
    Tensor t = arena.allocate(dtype, shape);
    zero(t);
    return t;
  }

  private static long dev(Tensor t, String op) {
    if (t.device() != Device.CUDA) throw new IllegalArgumentException(op + ": " + t + " is not a CUDA tensor");
    return t.address();
  }

  private static long devOrZero(Tensor t, String op) { return t == null ? 0 : dev(t, op); }

  private static void dtype(String op, String what, Tensor t, DType expected) {
    if (t.dtype() != expected) {
      throw new IllegalArgumentException(op + ": " + what + " must be " + expected + " on CUDA, got " + t);
    }
  }

  /** fp32 to bf16 bits, round to nearest even (NaN stays NaN). */
  static short toBf16(float f) {
    int bits = Float.floatToRawIntBits(f);
    if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
    return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
  }

  static float fromBf16(short b) { return Float.intBitsToFloat((b & 0xffff) << 16); }

  @Override public void upload(Tensor dst, float[] src) {
    requireCount(dst, src.length);
    switch (dst.dtype()) {
      case F32 -> { try (FloatPointer h = new FloatPointer(src)) { CudaRuntime.memcpy_h2d(dev(dst, "upload"), h, dst.bytes(), stream); } }
      case BF16 -> {
        short[] b = new short[src.length];
        for (int i = 0; i < src.length; i++) b[i] = toBf16(src[i]);
        try (ShortPointer h = new ShortPointer(b)) { CudaRuntime.memcpy_h2d(dev(dst, "upload"), h, dst.bytes(), stream); }
      }
      default -> throw new IllegalArgumentException("upload float[] into " + dst);
    }
  }

  @Override public void upload(Tensor dst, double[] src) {
    if (dst.dtype() == DType.F64) {
      requireCount(dst, src.length);
      try (DoublePointer h = new DoublePointer(src)) { CudaRuntime.memcpy_h2d(dev(dst, "upload"), h, dst.bytes(), stream); }
      return;
    }
    float[] f = new float[src.length];
    for (int i = 0; i < f.length; i++) f[i] = (float) src[i];
    upload(dst, f);
  }

  @Override public void upload(Tensor dst, int[] src) {
    requireCount(dst, src.length);
    dtype("upload", "dst", dst, DType.I32);
    try (IntPointer h = new IntPointer(src)) { CudaRuntime.memcpy_h2d(dev(dst, "upload"), h, dst.bytes(), stream); }
  }

  @Override public float[] downloadFloats(Tensor src) {
    int n = Math.toIntExact(src.numel());
    float[] out = new float[n];
    switch (src.dtype()) {
      case F32 -> { try (FloatPointer h = new FloatPointer(Math.max(1, n))) { CudaRuntime.memcpy_d2h(h, dev(src, "download"), src.bytes(), stream); h.get(out); } }
      case BF16 -> {
        short[] b = new short[n];
        try (ShortPointer h = new ShortPointer(Math.max(1, n))) { CudaRuntime.memcpy_d2h(h, dev(src, "download"), src.bytes(), stream); h.get(b); }
        for (int i = 0; i < n; i++) out[i] = fromBf16(b[i]);
      }
      default -> throw new IllegalArgumentException("downloadFloats from " + src);
    }
    return out;
  }

  @Override public double[] downloadDoubles(Tensor src) {
    if (src.dtype() == DType.F64) {
      int n = Math.toIntExact(src.numel());
      double[] out = new double[n];
      try (DoublePointer h = new DoublePointer(Math.max(1, n))) {
        CudaRuntime.memcpy_d2h(h, dev(src, "download"), src.bytes(), stream);
        h.get(out);
      }
      return out;
    }
    float[] f = downloadFloats(src);
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) d[i] = f[i];
    return d;
  }

  @Override public int[] downloadInts(Tensor src) {
    dtype("downloadInts", "src", src, DType.I32);
    int n = Math.toIntExact(src.numel());
    int[] out = new int[n];
    try (IntPointer h = new IntPointer(Math.max(1, n))) { CudaRuntime.memcpy_d2h(h, dev(src, "download"), src.bytes(), stream); h.get(out); }
    return out;
  }

  @Override public void copy(Tensor dst, Tensor src) {
    if (dst.dtype() != src.dtype() || dst.numel() != src.numel()) {
      throw new IllegalArgumentException("copy " + src + " -> " + dst + ": dtype or size differs");
    }
    CudaRuntime.memcpy_d2d(dev(dst, "copy"), dev(src, "copy"), src.bytes(), stream);
  }

  @Override public void zero(Tensor t) { CudaRuntime.memset_async(dev(t, "zero"), 0, t.bytes(), stream); }

  @Override public void synchronize() {
    CudaRuntime.stream_synchronize(stream);
    CudaRuntime.check_errors("synchronize");
  }

  private static void requireCount(Tensor t, int n) {
    if (t.numel() != n) throw new IllegalArgumentException("array of " + n + " elements for " + t);
  }

  // ---- model ops ------------------------------------------------------------------------------

  @Override public void embeddingForward(Tensor out, Tensor ids, Tensor table) {
    String op = "embedding";
    Shapes.require(op, table.rank() == 2 && out.numel() == ids.numel() * table.dim(1),
        "out " + out + ", ids " + ids + ", table " + table);
    dtype(op, "out", out, DType.BF16); dtype(op, "ids", ids, DType.I32); dtype(op, "table", table, DType.BF16);
    try (EmbeddingParams p = OpParams.embedding(ids, table)) {
      CudaOps.embedding_forward(dev(out, op), dev(ids, op), dev(table, op), p, stream);
    }
  }

  @Override public void embeddingBackward(Tensor dTable, Tensor dOut, Tensor ids) {
    String op = "embedding_backward";
    Shapes.require(op, dTable.rank() == 2 && dOut.numel() == ids.numel() * dTable.dim(1),
        "dOut " + dOut + ", ids " + ids + ", dTable " + dTable);
    dtype(op, "dTable (a parameter gradient)", dTable, DType.F32); dtype(op, "dOut", dOut, DType.BF16);
    dtype(op, "ids", ids, DType.I32);
    try (EmbeddingParams p = OpParams.embedding(ids, dTable)) {
      CudaOps.embedding_backward(dev(dTable, op), dev(dOut, op), dev(ids, op), p, stream);
    }
  }

  @Override public void rmsnormForward(Tensor out, Tensor rstd, Tensor x, Tensor w, double eps) {
    String op = "rmsnorm";
    long dim = w.numel(), rows = x.numel() / dim;
    Shapes.require(op, x.numel() == rows * dim && out.numel() == x.numel() && rstd.numel() == rows,
        "x " + x + ", out " + out + ", w " + w + ", rstd " + rstd);
    dtype(op, "out", out, DType.BF16); dtype(op, "x", x, DType.BF16); dtype(op, "w", w, DType.BF16);
    dtype(op, "rstd", rstd, DType.F32);
    try (RmsNormParams p = OpParams.rmsnorm(rows, dim, eps)) {
      CudaOps.rmsnorm_forward(dev(out, op), dev(rstd, op), dev(x, op), dev(w, op), p, stream);
    }
  }

  @Override public void residualRmsnormForward(Tensor y, Tensor out, Tensor rstd, Tensor x, Tensor delta, Tensor w,
      double eps) {
    String op = "residual_rmsnorm";
    long dim = w.numel(), rows = x.numel() / dim;
    Shapes.require(op, x.numel() == rows * dim && delta.numel() == x.numel() && y.numel() == x.numel()
        && out.numel() == x.numel() && rstd.numel() == rows,
        "y " + y + ", out " + out + ", x " + x + ", delta " + delta + ", w " + w + ", rstd " + rstd);
    dtype(op, "y", y, DType.BF16); dtype(op, "out", out, DType.BF16); dtype(op, "x", x, DType.BF16);
    dtype(op, "delta", delta, DType.BF16); dtype(op, "w", w, DType.BF16); dtype(op, "rstd", rstd, DType.F32);
    try (RmsNormParams p = OpParams.rmsnorm(rows, dim, eps)) {
      CudaOps.residual_rmsnorm_forward(dev(y, op), dev(out, op), dev(rstd, op), dev(x, op), dev(delta, op), dev(w, op), p,
          stream);
    }
  }

  @Override public void rmsnormBackward(Tensor dx, Tensor dw, Tensor dOut, Tensor x, Tensor w, Tensor rstd,
      boolean accumulateDx) {
    String op = "rmsnorm_backward";
    long dim = w.numel(), rows = x.numel() / dim;
    Shapes.require(op, dx.numel() == x.numel() && dOut.numel() == x.numel() && dw.numel() == dim && rstd.numel() == rows,
        "dx " + dx + ", x " + x + ", w " + w);
    dtype(op, "dx", dx, DType.BF16); dtype(op, "dOut", dOut, DType.BF16); dtype(op, "x", x, DType.BF16);
    dtype(op, "w", w, DType.BF16); dtype(op, "dw (a parameter gradient)", dw, DType.F32); dtype(op, "rstd", rstd, DType.F32);
    long ws = scratch((long) CudaOps.column_reduce_chunks() * dim * 4);
    try (RmsNormParams p = OpParams.rmsnormBackward(rows, dim, accumulateDx)) {
      CudaOps.rmsnorm_backward(dev(dx, op), dev(dw, op), dev(dOut, op), dev(x, op), dev(w, op), dev(rstd, op), ws, p,
          stream);
    }
  }

  /**
   * out[T, O] = x[T, I] · w[O, I]ᵀ (+ bias). In cuBLAS's column-major view out is outᵀ [O, T] = op_T(wᵀ) · xᵀ,
   * with wᵀ stored [I, O] (ld I) and xᵀ [I, T] (ld I).
   */
  @Override public void linearForward(Tensor out, Tensor x, Tensor w, Tensor bias) {
    String op = "linear";
    long o = w.dim(0), in = w.dim(-1), t = x.numel() / in;
    Shapes.require(op, w.numel() == o * in && x.numel() == t * in && out.numel() == t * o
        && (bias == null || bias.numel() == o), "out " + out + ", x " + x + ", w " + w + ", bias " + bias);
    dtype(op, "out", out, DType.BF16); dtype(op, "x", x, DType.BF16); dtype(op, "w", w, DType.BF16);
    if (bias != null) dtype(op, "bias", bias, DType.BF16);
    if (t == 0) return;
    blas.matmul(true, false, o, t, in, dev(w, op), in, dev(x, op), in, dev(out, op), o, false, devOrZero(bias, op), false);
  }

  /**
   * dx[T, I] = dOut[T, O] · w[O, I]   (column-major: dxᵀ [I, T] = wᵀ [I, O] · dOutᵀ [O, T]);
   * dw[O, I] += dOutᵀ · x              (column-major: dwᵀ [I, O] = xᵀ [I, T] · op_T(dOutᵀ [O, T]));
   * dBias[O] += Σ_t dOut[t, :]          (deterministic column reduction).
   */
  @Override public void nf4Dequantize(Tensor out, Nf4Weight w) {
    String op = "nf4_dequantize";
    Shapes.require(op, out.numel() == w.numel(), "out " + out + " for a weight of " + w.numel() + " elements");
    dtype(op, "out", out, DType.BF16);
    CudaOps.nf4_dequantize_bf16(dev(out, op), dev(w.packedTensor(), op), dev(w.absmaxCodesTensor(), op),
        dev(w.absmax2Tensor(), op), w.offset(), w.numel(), stream);
  }

  @Override public void linearBackward(Tensor dx, Tensor dw, Tensor dBias, Tensor dOut, Tensor x, Tensor w) {
    String op = "linear_backward";
    long o = w.dim(0), in = w.dim(-1), t = x.numel() / in;
    Shapes.require(op, dOut.numel() == t * o && (dw == null || dw.numel() == o * in) && (dx == null || dx.numel() == t * in)
        && (dBias == null || dBias.numel() == o), "dOut " + dOut + ", x " + x + ", w " + w);
    dtype(op, "dOut", dOut, DType.BF16); dtype(op, "x", x, DType.BF16); dtype(op, "w", w, DType.BF16);
    if (dw != null) dtype(op, "dw (a parameter gradient)", dw, DType.F32);
    if (dx != null) dtype(op, "dx", dx, DType.BF16);
    if (dBias != null) dtype(op, "dBias (a parameter gradient)", dBias, DType.F32);
    if (t == 0) return;
    if (dx != null) blas.matmul(false, false, in, t, o, dev(w, op), in, dev(dOut, op), o, dev(dx, op), in, false, 0, false);
    if (dw != null) blas.matmul(false, true, in, o, t, dev(x, op), in, dev(dOut, op), o, dev(dw, op), in, true, 0, true);
    if (dBias != null) {
      long ws = scratch((long) CudaOps.column_reduce_chunks() * o * 4);
      try (BiasParams p = OpParams.bias(t, o)) {
        CudaOps.bias_add_backward(dev(dBias, op), dev(dOut, op), ws, p, stream);
      }
    }
  }

  // ---- LoRA: the low-rank path beside a frozen linear, as cuBLASLt GEMMs (LoraGemms) -------------

  /**
   * u = x · aᵀ (bf16, overwritten), then out += scale · u · bᵀ accumulated in place into the base linear's bf16
   * output by a second GEMM (alpha = scale, beta = 1; why not the base GEMM's epilogue: {@link LoraGemms}).
   * out, u, x, a, b BF16.
   */
  @Override public void loraForward(Tensor out, Tensor u, Tensor x, Tensor a, Tensor b, double scale) {
    String op = "lora_forward";
    long[] s = loraShape(op, a, b, x);
    long rank = s[0], in = s[1], outF = s[2], tokens = s[3];
    Shapes.require(op, out.numel() == tokens * outF && u.numel() == tokens * rank,
        "out " + out + ", u " + u + ", x " + x + ", a " + a + ", b " + b);
    for (Tensor t : new Tensor[] {out, u, x, a, b}) dtype(op, "out/u/x/a/b", t, DType.BF16);
    runGemms(op, LoraGemms.forward(tokens, in, outF, rank, scale), x, a, b, u, out, null, null, null, null, null);
  }

  /**
   * du = scale · dOut · b (BF16 scratch, overwritten); db += scale · dOutᵀ · u and da += duᵀ · x (F32 parameter
   * gradients, accumulated by beta = 1); dx += du · a (BF16, accumulated onto the base linear's dx; skipped when
   * null). dOut, x, u, a, b BF16.
   */
  @Override public void loraBackward(Tensor dx, Tensor da, Tensor db, Tensor du, Tensor dOut, Tensor x, Tensor u, Tensor a,
      Tensor b, double scale) {
    String op = "lora_backward";
    long[] s = loraShape(op, a, b, x);
    long rank = s[0], in = s[1], outF = s[2], tokens = s[3];
    Shapes.require(op, dOut.numel() == tokens * outF && u.numel() == tokens * rank && du.numel() == tokens * rank
        && da.numel() == a.numel() && db.numel() == b.numel() && (dx == null || dx.numel() == x.numel()),
        "dx " + dx + ", da " + da + ", db " + db + ", du " + du + ", dOut " + dOut + ", x " + x + ", u " + u + ", a " + a + ", b " + b);
    for (Tensor t : new Tensor[] {du, dOut, x, u, a, b}) dtype(op, "du/dOut/x/u/a/b", t, DType.BF16);
    dtype(op, "da (a parameter gradient)", da, DType.F32); dtype(op, "db (a parameter gradient)", db, DType.F32);
    if (dx != null) dtype(op, "dx", dx, DType.BF16);
    runGemms(op, LoraGemms.backward(tokens, in, outF, rank, scale, dx != null), x, a, b, u, null, dOut, du, dx, da, db);
  }

  /** {rank, in, out, tokens} of a LoRA call, checked as the CPU backend checks them. */
  private static long[] loraShape(String op, Tensor a, Tensor b, Tensor x) {
    Shapes.require(op, a.rank() == 2 && b.rank() == 2 && a.dim(0) == b.dim(1) && a.numel() > 0 && b.numel() > 0,
        "a " + a + " must be [r, I] and b " + b + " [O, r]");
    long rank = a.dim(0), in = a.dim(1), tokens = x.numel() / in;
    Shapes.require(op, x.numel() == tokens * in, "x " + x + " is not [T, " + in + "]");
    return new long[] {rank, in, b.dim(0), tokens};
  }

  private void runGemms(String op, java.util.List<LoraGemms.Gemm> gemms, Tensor x, Tensor a, Tensor b, Tensor u, Tensor out,
      Tensor dOut, Tensor du, Tensor dx, Tensor da, Tensor db) {
    for (LoraGemms.Gemm g : gemms) {
      long pa = dev(operand(g.a(), x, a, b, u, out, dOut, du, dx, da, db), op);
      long pb = dev(operand(g.b(), x, a, b, u, out, dOut, du, dx, da, db), op);
      long pd = dev(operand(g.d(), x, a, b, u, out, dOut, du, dx, da, db), op);
      blas.matmul(g.transA(), g.transB(), g.m(), g.n(), g.k(), g.alpha(), pa, g.lda(), pb, g.ldb(), pd, g.ldd(), g.outF32(), 0,
          g.accumulate());
    }
  }

  private static Tensor operand(LoraGemms.Operand o, Tensor x, Tensor a, Tensor b, Tensor u, Tensor out, Tensor dOut,
      Tensor du, Tensor dx, Tensor da, Tensor db) {
    Tensor t = switch (o) {
      case X -> x; case A -> a; case B -> b; case U -> u; case OUT -> out; case DOUT -> dOut; case DU -> du; case DX -> dx;
      case DA -> da; case DB -> db;
    };
    if (t == null) throw new IllegalStateException("LoRA GEMM plan reads " + o + ", which this call did not pass");
    return t;
  }

  private void rope(String op, Tensor x, Tensor positions, Tensor cos, Tensor sin, int inverse) {
    long hd = x.dim(-1), tokens = positions.numel(), heads = x.numel() / Math.max(1, tokens * hd);
    long half = hd / 2, maxPos = cos.numel() / Math.max(1, half);
    Shapes.require(op, hd % 2 == 0 && tokens * heads * hd == x.numel() && cos.numel() == sin.numel()
        && cos.numel() == maxPos * half, "x " + x + ", positions " + positions + ", cos " + cos);
    dtype(op, "x", x, DType.BF16); dtype(op, "positions", positions, DType.I32);
    if (cos.dtype() != sin.dtype()) throw new IllegalArgumentException(op + ": cos and sin dtypes differ");
    if (cos.dtype() != DType.F32 && cos.dtype() != DType.BF16) {
      throw new IllegalArgumentException(op + ": cos/sin must be F32 or BF16, got " + cos.dtype());
    }
    try (RopeParams p = OpParams.rope(tokens, heads, hd, maxPos)) {
      if (cos.dtype() == DType.F32) {
        CudaOps.rope_apply_f32(dev(x, op), dev(positions, op), dev(cos, op), dev(sin, op), p, inverse, stream);
      } else {
        CudaOps.rope_apply_bf16(dev(x, op), dev(positions, op), dev(cos, op), dev(sin, op), p, inverse, stream);
      }
    }
  }

  @Override public void ropeForward(Tensor x, Tensor positions, Tensor cos, Tensor sin) { rope("rope", x, positions, cos, sin, 0); }

  @Override public void ropeBackward(Tensor dx, Tensor positions, Tensor cos, Tensor sin) {
    rope("rope_backward", dx, positions, cos, sin, 1);
  }

  private static void checkLayout(String op, VarlenLayout layout) {
    if (layout.cuSeqlens().device() != Device.CUDA || (layout.hasSegments() && layout.segmentIds().device() != Device.CUDA)) {
      throw new IllegalArgumentException(op + ": cuSeqlens and segmentIds must be uploaded to the CUDA device");
    }
  }

  @Override public void attentionForward(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, VarlenLayout layout,
      double scale) {
    String op = "attention";
    checkLayout(op, layout);
    int tokens = layout.totalTokens();
    int hd = (int) q.dim(-1), hq = (int) (q.numel() / ((long) tokens * hd)), hkv = (int) (k.numel() / ((long) tokens * hd));
    Shapes.require(op, out.numel() == q.numel() && k.numel() == v.numel() && lse.numel() == (long) hq * tokens,
        "out " + out + ", lse " + lse + ", q " + q + ", k " + k + ", v " + v);
    for (Tensor t : new Tensor[] {out, q, k, v}) dtype(op, "q/k/v/out", t, DType.BF16);
    dtype(op, "lse", lse, DType.F32);
    FlashAttention.flash_attention_forward(dev(out, op), dev(lse, op), dev(q, op), dev(k, op), dev(v, op),
        dev(layout.cuSeqlens(), op), layout.hasSegments() ? dev(layout.segmentIds(), op) : 0, layout.numSeqs(),
        tokens, layout.maxSeqlen(), hq, hkv, hd, (float) scale, stream);
  }

  @Override public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOut, Tensor q, Tensor k, Tensor v,
      Tensor out, Tensor lse, VarlenLayout layout, double scale) {
    String op = "attention_backward";
    checkLayout(op, layout);
    int tokens = layout.totalTokens();
    int hd = (int) q.dim(-1), hq = (int) (q.numel() / ((long) tokens * hd)), hkv = (int) (k.numel() / ((long) tokens * hd));
    Shapes.require(op, dq.numel() == q.numel() && dOut.numel() == q.numel() && out.numel() == q.numel()
        && dk.numel() == k.numel() && dv.numel() == k.numel() && v.numel() == k.numel() && lse.numel() == (long) hq * tokens,
        "dq " + dq + ", dk " + dk + ", dv " + dv + ", q " + q + ", k " + k);
    for (Tensor t : new Tensor[] {dq, dk, dv, dOut, q, k, v, out}) dtype(op, "q/k/v/out and grads", t, DType.BF16);
    dtype(op, "lse", lse, DType.F32);
    int det = deterministic ? 1 : 0;
    long ws = scratch(FlashAttention.flash_attention_backward_workspace(tokens, hq, hkv, hd, det));
    FlashAttention.flash_attention_backward(dev(dq, op), dev(dk, op), dev(dv, op), dev(dOut, op), dev(q, op),
        dev(k, op), dev(v, op), dev(out, op), dev(lse, op), ws, dev(layout.cuSeqlens(), op),
        layout.hasSegments() ? dev(layout.segmentIds(), op) : 0, layout.numSeqs(), tokens, layout.maxSeqlen(), hq, hkv,
        hd, (float) scale, det, stream);
  }

  @Override public void swigluForward(Tensor out, Tensor gate, Tensor up) {
    String op = "swiglu";
    Shapes.require(op, out.numel() == gate.numel() && up.numel() == gate.numel(), "out " + out + ", gate " + gate + ", up " + up);
    for (Tensor t : new Tensor[] {out, gate, up}) dtype(op, "tensors", t, DType.BF16);
    CudaOps.swiglu_forward(dev(out, op), dev(gate, op), dev(up, op), out.numel(), stream);
  }

  @Override public void swigluBackward(Tensor dGate, Tensor dUp, Tensor dOut, Tensor gate, Tensor up) {
    String op = "swiglu_backward";
    long n = gate.numel();
    Shapes.require(op, dGate.numel() == n && dUp.numel() == n && dOut.numel() == n && up.numel() == n,
        "dGate " + dGate + ", gate " + gate);
    for (Tensor t : new Tensor[] {dGate, dUp, dOut, gate, up}) dtype(op, "tensors", t, DType.BF16);
    CudaOps.swiglu_backward(dev(dGate, op), dev(dUp, op), dev(dOut, op), dev(gate, op), dev(up, op), n, stream);
  }

  @Override public void addInPlace(Tensor acc, Tensor x) { add(acc, acc, x); }

  @Override public void add(Tensor out, Tensor a, Tensor b) {
    String op = "add";
    Shapes.require(op, a.numel() == out.numel() && b.numel() == out.numel() && a.dtype() == out.dtype()
        && b.dtype() == out.dtype(), "out " + out + ", a " + a + ", b " + b);
    switch (out.dtype()) {
      case BF16 -> CudaOps.add_out_bf16(dev(out, op), dev(a, op), dev(b, op), out.numel(), stream);
      case F32 -> CudaOps.add_out_f32(dev(out, op), dev(a, op), dev(b, op), out.numel(), stream);
      default -> throw Shapes.unsupported(op, out.dtype());
    }
  }

  @Override public void scoreForward(Tensor rewards, Tensor hidden, Tensor readout, Tensor w) {
    String op = "score";
    long dim = w.numel(), tokens = hidden.numel() / dim;
    Shapes.require(op, hidden.numel() == tokens * dim && rewards.numel() == readout.numel(),
        "rewards " + rewards + ", hidden " + hidden + ", readout " + readout + ", w " + w);
    dtype(op, "rewards", rewards, DType.F32); dtype(op, "hidden", hidden, DType.BF16);
    dtype(op, "readout", readout, DType.I32); dtype(op, "w", w, DType.BF16);
    try (ScoreParams p = OpParams.score(tokens, dim, readout.numel())) {
      CudaOps.score_forward(dev(rewards, op), dev(hidden, op), dev(readout, op), dev(w, op), p, stream);
    }
  }

  @Override public void scoreBackward(Tensor dHidden, Tensor dw, Tensor dRewards, Tensor hidden, Tensor readout, Tensor w) {
    String op = "score_backward";
    long dim = w.numel(), tokens = hidden.numel() / dim;
    Shapes.require(op, dHidden.numel() == hidden.numel() && dw.numel() == dim && dRewards.numel() == readout.numel(),
        "dHidden " + dHidden + ", dw " + dw + ", dRewards " + dRewards);
    dtype(op, "dHidden", dHidden, DType.BF16); dtype(op, "dw (a parameter gradient)", dw, DType.F32);
    dtype(op, "dRewards", dRewards, DType.F32); dtype(op, "hidden", hidden, DType.BF16);
    dtype(op, "readout", readout, DType.I32); dtype(op, "w", w, DType.BF16);
    try (ScoreParams p = OpParams.score(tokens, dim, readout.numel())) {
      CudaOps.score_backward(dev(dHidden, op), dev(dw, op), dev(dRewards, op), dev(hidden, op), dev(readout, op),
          dev(w, op), p, stream);
    }
  }

  @Override public void linearCrossEntropyForward(Tensor logp, Tensor lse, Tensor hidden, Tensor w, Tensor targets) {
    String op = "linear_cross_entropy";
    long dim = w.rank() == 2 ? w.dim(1) : 0, vocab = w.rank() == 2 ? w.dim(0) : 0, tokens = targets.numel();
    Shapes.require(op, dim > 0 && hidden.numel() == tokens * dim && logp.numel() == tokens && lse.numel() == tokens,
        "logp " + logp + ", lse " + lse + ", hidden " + hidden + ", w " + w + ", targets " + targets);
    dtype(op, "logp", logp, DType.F32); dtype(op, "lse", lse, DType.F32); dtype(op, "hidden", hidden, DType.BF16);
    dtype(op, "w", w, DType.BF16); dtype(op, "targets", targets, DType.I32);
    long ws = scratch(4 * CudaLinearCrossEntropy.linear_cross_entropy_workspace_floats(dim, 0, 0));
    CudaLinearCrossEntropy.linear_cross_entropy_forward(dev(logp, op), dev(lse, op), dev(hidden, op), dev(w, op),
        dev(targets, op), ws, tokens, dim, vocab, 0, 0, stream);
  }

  @Override public void linearCrossEntropyBackward(Tensor dHidden, Tensor dw, Tensor dLogp, Tensor lse, Tensor hidden,
      Tensor w, Tensor targets) {
    String op = "linear_cross_entropy_backward";
    if (dw == null) throw new IllegalArgumentException(op + ": a frozen head (null dw) runs on the CPU backend only so far");
    long dim = w.rank() == 2 ? w.dim(1) : 0, vocab = w.rank() == 2 ? w.dim(0) : 0, tokens = targets.numel();
    Shapes.require(op, dim > 0 && hidden.numel() == tokens * dim && dHidden.numel() == hidden.numel()
        && dw.numel() == w.numel() && dLogp.numel() == tokens && lse.numel() == tokens,
        "dHidden " + dHidden + ", dw " + dw + ", dLogp " + dLogp + ", lse " + lse + ", hidden " + hidden + ", w " + w);
    dtype(op, "dHidden", dHidden, DType.BF16); dtype(op, "dw (a parameter gradient)", dw, DType.F32);
    dtype(op, "dLogp", dLogp, DType.F32); dtype(op, "lse", lse, DType.F32); dtype(op, "hidden", hidden, DType.BF16);
    dtype(op, "w", w, DType.BF16); dtype(op, "targets", targets, DType.I32);
    long ws = scratch(4 * CudaLinearCrossEntropy.linear_cross_entropy_workspace_floats(dim, 0, 0));
    CudaLinearCrossEntropy.linear_cross_entropy_backward(dev(dHidden, op), dev(dw, op), dev(dLogp, op), dev(lse, op),
        dev(hidden, op), dev(w, op), dev(targets, op), ws, tokens, dim, vocab, 0, 0, stream);
  }

  // ---- CUDA-only training helpers --------------------------------------------------------------

  /**
   * Fused reward loss (semantics of the CPU {@code reward_loss.h}): stats F64[11] overwritten
   * (stats[0] = total loss), dRewards F32[R] overwritten with gradScale * dL/dr (null: forward only).
   * Pair indices are validated on the device; the caller sees NaN stats when one is out of range.
   */
  public void rewardLoss(Tensor dRewards, Tensor stats, Tensor rewards, Tensor chosen, Tensor rejected, Tensor margins,
      int lossType, double gamma, int penaltyType, double penaltyWeight, double lower, double upper, double centerCoef,
      double gradScale) {
    String op = "reward_loss";
    Shapes.require(op, chosen.numel() >= 1, "needs at least one pair");
    long r = rewards.numel(), p = chosen.numel();
    Shapes.require(op, rejected.numel() == p && stats.numel() == 11 && (dRewards == null || dRewards.numel() == r)
        && (margins == null || margins.numel() == p), "rewards " + rewards + ", chosen " + chosen + ", stats " + stats);
    dtype(op, "rewards", rewards, DType.F32); dtype(op, "chosen", chosen, DType.I32); dtype(op, "rejected", rejected, DType.I32);
    dtype(op, "stats", stats, DType.F64);
    if (dRewards != null) dtype(op, "dRewards", dRewards, DType.F32);
    if (margins != null) dtype(op, "margins", margins, DType.F32);
    CudaRewardLoss.reward_loss_forward_backward(dev(rewards, op), dev(chosen, op), dev(rejected, op),
        devOrZero(margins, op), devOrZero(dRewards, op), dev(stats, op), r, p, lossType, gamma, penaltyType,
        penaltyWeight, lower, upper, centerCoef, gradScale, stream);
  }

  // ---- Backend training ops (the trainer's backend-agnostic path) ------------------------------

  private Tensor sumsqOut;       // F64 [1]: grad_sumsq's result
  private Tensor sumsqPartials;  // F64 [grad_norm_blocks()]: its workspace

  /** Stats come back to the host (one small sync per micro-batch, as on the CPU). rewards, dRewards, margins F32. */
  @Override public double[] rewardLoss(Tensor rewards, Tensor chosen, Tensor rejected, Tensor margins, Tensor dRewards,
      RewardLossSpec spec, double gradScale) {
    try (Tensor stats = allocate(DType.F64, RewardLossSpec.NUM_STATS)) {  // stats F64 [11]
      rewardLoss(dRewards, stats, rewards, chosen, rejected, margins, spec.lossType(), spec.gamma(), spec.penaltyType(),
          spec.penaltyWeight(), spec.lower(), spec.upper(), spec.centerCoef(), gradScale);
      return downloadDoubles(stats);
    }
  }

  /** Stats come back to the host (one small sync per micro-batch). Log-prob buffers F32. */
  @Override public double[] preferenceLoss(PreferenceLossInputs in, PreferenceLossSpec spec, double gradScale) {
    String op = "preference_loss";
    in.check(op);
    for (Tensor t : new Tensor[] {in.logps(), in.refLogps(), in.promptLogps(), in.klLogps(), in.refKlLogps(), in.dLogps(),
        in.dPromptLogps()}) {
      if (t != null) dtype(op, "log-prob buffers", t, DType.F32);
    }
    try (Tensor stats = allocate(DType.F64, PreferenceLossSpec.NUM_STATS)) {  // stats F64 [11]
      CudaPreferenceLoss.preference_loss_forward_backward(dev(in.logps(), op), devOrZero(in.refLogps(), op),
          dev(in.lengths(), op), devOrZero(in.promptLogps(), op), devOrZero(in.promptLengths(), op),
          devOrZero(in.chosen(), op), devOrZero(in.rejected(), op), devOrZero(in.labels(), op),
          devOrZero(in.klLogps(), op), devOrZero(in.refKlLogps(), op), devOrZero(in.dLogps(), op),
          devOrZero(in.dPromptLogps(), op), dev(stats, op), in.numResponses(), in.numPairs(), in.numKl(),
          spec.lossType(), spec.beta(), spec.labelSmoothing(), spec.nllAlpha(), spec.simpoGamma(),
          spec.desirableWeight(), spec.undesirableWeight(), gradScale, stream);
      return downloadDoubles(stats);
    }
  }

  /**
   * Σ g² over a gradient arena by the deterministic two-pass reduction of optimizer.cu (double accumulation, as
   * the CPU's chunk sums: the two agree to about 1e-15 relative, not bit for bit). Reading the result back is
   * the step's one host sync.
   */
  @Override public double gradSumSquares(Tensor grad) {
    String op = "grad_norm";
    dtype(op, "grad", grad, DType.F32);
    if (sumsqOut == null) {
      sumsqOut = general.allocate(DType.F64, 1);
      sumsqPartials = general.allocate(DType.F64, CudaOps.grad_norm_blocks());
    }
    CudaOps.grad_sumsq(dev(sumsqOut, op), dev(sumsqPartials, op), dev(grad, op), grad.numel(), stream);
    return downloadDoubles(sumsqOut)[0];
  }

  /** One launch per optimizer group: master F32 and weights BF16 (the working copy the model computes with); grad, m, v F32. */
  @Override public void adamwUpdate(Tensor master, Tensor weights, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
    String op = "adamw";
    if (master == weights) {
      throw new IllegalArgumentException("adamw: CUDA weights are BF16; pass the F32 master copy from masterWeights()");
    }
    long n = master.numel();
    Shapes.require(op, weights.numel() == n && m.numel() == n && v.numel() == n && grad.numel() == n,
        "master " + master + ", weights " + weights + ", grad " + grad + ", m " + m + ", v " + v);
    dtype(op, "master", master, DType.F32); dtype(op, "weights", weights, DType.BF16); dtype(op, "m", m, DType.F32);
    dtype(op, "v", v, DType.F32); dtype(op, "grad", grad, DType.F32);
    try (io.rewardkit.kernels.cpu.AdamWParams p = OpParams.adamw(n, step)) {
      CudaOps.adamw_update(dev(master, op), dev(weights, op), dev(grad, op), dev(m, op), dev(v, op), p, stream);
    }
  }

  /** An F32 master of a BF16 span, converted on the device (a model's group can exceed a Java array). */
  @Override public Tensor masterWeights(Tensor weights) {
    if (weights.dtype() == DType.F32) return weights;
    dtype("masterWeights", "weights", weights, DType.BF16);
    Tensor master = allocate(optimizer, DType.F32, weights.numel());  // master F32 [span], optimizer arena
    CudaOps.bf16_to_f32(dev(master, "masterWeights"), dev(weights, "masterWeights"), weights.numel(), stream);
    return master.reshape(weights.shape());
  }

  @Override public void close() {
    try {
      CudaRuntime.stream_synchronize(stream);
    } finally {
      blas.close();
      general.close();
      for (DeviceArena a : new DeviceArena[] {params, grads, optimizer, activations}) a.close();
      if (scratch != 0) CudaRuntime.device_free(scratch);
      CudaRuntime.device_free(gemmWorkspace);
      CudaRuntime.stream_destroy(stream);
    }
  }
}
