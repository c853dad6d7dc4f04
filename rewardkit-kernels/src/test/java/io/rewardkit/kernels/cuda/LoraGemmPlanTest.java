package io.rewardkit.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.kernels.cuda.LoraGemms.Gemm;
import io.rewardkit.kernels.cuda.LoraGemms.Operand;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The CUDA backend's LoRA GEMM calls ({@link LoraGemms}: exactly the list {@link CudaBackend} hands to cuBLASLt)
 * run by a host model of a column-major cuBLASLt matmul, against the CPU backend's float64 LoRA. No GPU: this
 * checks what can go wrong in the Java half without one (a transpose, a leading dimension, m/n/k, alpha, beta,
 * the output dtype, the order of the calls); the GPU test {@code CudaLoraParityTest} checks cuBLASLt itself.
 *
 * <p>The model: each operand is a dense buffer (row-major [rows, cols] = column-major [cols, rows]); a call must
 * describe it exactly (ld = its column-major row count, ld · cols = its size: a dense tensor has no padding), A
 * and B must be bf16 operands and D's dtype must be the call's output type. D = alpha · op(A) · op(B) (+ D) is
 * summed in double and rounded once to D's dtype, as cuBLASLt's fp32 accumulation and epilogue round once.
 *
 * <p>Tolerances: operands are bf16-exact on both sides, so the differences are cuBLASLt's own roundings: u, du,
 * out and dx are rounded to bf16 (relative 2^-9 each), and du's rounding feeds da and dx. 2^-6 of the largest
 * reference magnitude bounds these with room; a wrong transpose, scale or accumulate flag moves results by
 * order one (the cases use distinct T, I, O, r and scales != 1 so none of them is hidden by symmetry).
 */
class LoraGemmPlanTest {
  private static final double BF16_RESULT = 0x1p-6;
  private static final Set<Operand> FP32 = EnumSet.of(Operand.DA, Operand.DB);

  private final CpuBackend cpu = new CpuBackend();

  @ParameterizedTest(name = "T={0} I={1} O={2} r={3} s={4}")
  @CsvSource({"37, 72, 40, 8, 2.0", "1, 16, 24, 4, 0.5", "130, 33, 17, 3, 9.2376", "5, 7, 300, 16, 0.125"})
  void forwardAndBackwardPlansMatchTheFloat64Reference(int tokens, int in, int out, int rank, double scale) {
    SplittableRandom rng = new SplittableRandom(tokens * 1_000_003L + in * 1009L + out * 31L + rank);
    double[] x = bf16Random(rng, tokens * in, 1), a = bf16Random(rng, rank * in, 1 / Math.sqrt(in));
    double[] b = bf16Random(rng, out * rank, 1 / Math.sqrt(rank)), base = bf16Random(rng, tokens * out, 0.5);
    double[] dOut = bf16Random(rng, tokens * out, 1);

    // forward: reference out = base + s · (x · aᵀ) · bᵀ in float64
    Tensor rOut = Tensor.hostOf(base.clone(), tokens, out), rU = Tensor.host(DType.F64, tokens, rank);
    cpu.loraForward(rOut, rU, Tensor.hostOf(x, tokens, in), Tensor.hostOf(a, rank, in), Tensor.hostOf(b, out, rank), scale);
    Map<Operand, double[]> m = new EnumMap<>(Operand.class);
    m.put(Operand.X, x); m.put(Operand.A, a); m.put(Operand.B, b);
    m.put(Operand.OUT, base.clone());
    m.put(Operand.U, bf16Random(rng, tokens * rank, maxAbs(rU.toDoubleArray())));  // garbage: u is overwritten
    List<Gemm> fwd = LoraGemms.forward(tokens, in, out, rank, scale);
    assertEquals(2, fwd.size(), "forward: x·aᵀ, then one accumulating GEMM into out");
    run(fwd, m);
    close("u", rU.toDoubleArray(), m.get(Operand.U), BF16_RESULT);
    close("out", rOut.toDoubleArray(), m.get(Operand.OUT), BF16_RESULT);

    // backward from the u the GPU would have saved (bf16). The reference's own contributions first (zero
    // gradients), then priors of the same magnitude in every accumulated gradient and garbage in du, so that
    // overwriting instead of accumulating (or the reverse) is an order-one error in every case.
    double[] u = m.get(Operand.U);
    Tensor rDx = Tensor.host(DType.F64, tokens, in), rDa = Tensor.host(DType.F64, rank, in);
    Tensor rDb = Tensor.host(DType.F64, out, rank), rDu = Tensor.host(DType.F64, tokens, rank);
    cpu.loraBackward(rDx, rDa, rDb, rDu, Tensor.hostOf(dOut, tokens, out), Tensor.hostOf(x, tokens, in),
        Tensor.hostOf(u, tokens, rank), Tensor.hostOf(a, rank, in), Tensor.hostOf(b, out, rank), scale);
    double[] dx0 = bf16Random(rng, tokens * in, maxAbs(rDx.toDoubleArray()));
    double[] da0 = random(rng, rank * in, maxAbs(rDa.toDoubleArray())), db0 = random(rng, out * rank, maxAbs(rDb.toDoubleArray()));
    m.put(Operand.DOUT, dOut); m.put(Operand.DX, dx0.clone()); m.put(Operand.DA, da0.clone()); m.put(Operand.DB, db0.clone());
    m.put(Operand.DU, bf16Random(rng, tokens * rank, maxAbs(rDu.toDoubleArray())));  // garbage: du is overwritten
    List<Gemm> bwd = LoraGemms.backward(tokens, in, out, rank, scale, true);
    run(bwd, m);
    close("du", rDu.toDoubleArray(), m.get(Operand.DU), BF16_RESULT);
    close("dx (accumulated onto a prior)", plus(dx0, rDx), m.get(Operand.DX), BF16_RESULT);
    close("da (accumulated onto a prior)", plus(da0, rDa), m.get(Operand.DA), BF16_RESULT);
    close("db (accumulated onto a prior)", plus(db0, rDb), m.get(Operand.DB), BF16_RESULT);

    // dx null (a first layer's input needs no gradient): the same parameter-gradient calls, none touching dx
    List<Gemm> noDx = LoraGemms.backward(tokens, in, out, rank, scale, false);
    assertEquals(bwd.subList(0, 3), noDx, "without dx: the same du, db, da calls");
    assertTrue(noDx.stream().noneMatch(g -> g.a() == Operand.DX || g.b() == Operand.DX || g.d() == Operand.DX));
  }

  @Test
  void noTokensIsNoCall() {
    assertTrue(LoraGemms.forward(0, 8, 8, 2, 1).isEmpty());
    assertTrue(LoraGemms.backward(0, 8, 8, 2, 1, true).isEmpty());
  }

  // ---- the host model of cuBLASLt's column-major matmul ------------------------------------------

  private static void run(List<Gemm> gemms, Map<Operand, double[]> m) {
    for (Gemm g : gemms) {
      String w = g.what();
      if (FP32.contains(g.a()) || FP32.contains(g.b())) fail(w + ": A and B are bf16 layouts, got " + g.a() + "/" + g.b());
      if (g.outF32() != FP32.contains(g.d())) fail(w + ": writes " + (g.outF32() ? "fp32" : "bf16") + " into " + g.d());
      double[] a = m.get(g.a()), b = m.get(g.b()), d = m.get(g.d());
      // op(A) [m, k]: A is [k, m] when transposed; op(B) [k, n]: B is [n, k] when transposed
      dense(w + " A", a, g.transA() ? g.k() : g.m(), g.transA() ? g.m() : g.k(), g.lda());
      dense(w + " B", b, g.transB() ? g.n() : g.k(), g.transB() ? g.k() : g.n(), g.ldb());
      dense(w + " D", d, g.m(), g.n(), g.ldd());
      double[] res = new double[d.length];
      for (long j = 0; j < g.n(); j++) {
        for (long i = 0; i < g.m(); i++) {
          double s = 0;
          for (long p = 0; p < g.k(); p++) {
            double av = g.transA() ? a[(int) (p + i * g.lda())] : a[(int) (i + p * g.lda())];
            double bv = g.transB() ? b[(int) (j + p * g.ldb())] : b[(int) (p + j * g.ldb())];
            s += av * bv;
          }
          int at = (int) (i + j * g.ldd());
          double v = g.alpha() * s + (g.accumulate() ? d[at] : 0);
          res[at] = g.outF32() ? (float) v : bf16(v);
        }
      }
      System.arraycopy(res, 0, d, 0, d.length);
    }
  }

  /** The buffer is exactly a dense column-major [rows, cols] with ld = rows. */
  private static void dense(String what, double[] buf, long rows, long cols, long ld) {
    if (ld != rows || (long) buf.length != rows * cols) {
      fail(what + ": described as [" + rows + ", " + cols + "] ld " + ld + " but the tensor holds " + buf.length + " elements");
    }
  }

  // ---- helpers ------------------------------------------------------------------------------------

  private static double bf16(double v) { return CudaBackend.fromBf16(CudaBackend.toBf16((float) v)); }

  private static double[] random(SplittableRandom rng, int n, double scale) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) v[i] = (float) ((rng.nextDouble() * 2 - 1) * scale);
    return v;
  }

  private static double[] bf16Random(SplittableRandom rng, int n, double scale) {
    double[] v = random(rng, n, scale);
    for (int i = 0; i < n; i++) v[i] = bf16(v[i]);
    return v;
  }

  private static double maxAbs(double[] v) {
    double mx = 0;
    for (double d : v) mx = Math.max(mx, Math.abs(d));
    return mx;
  }

  private static double[] plus(double[] prior, Tensor own) {
    double[] r = own.toDoubleArray();
    for (int i = 0; i < r.length; i++) r[i] += prior[i];
    return r;
  }

  private static void close(String what, double[] ref, double[] got, double relTol) {
    assertEquals(ref.length, got.length, what);
    double maxRef = 0, maxDiff = 0;
    int worst = 0;
    for (int i = 0; i < ref.length; i++) {
      maxRef = Math.max(maxRef, Math.abs(ref[i]));
      double diff = Math.abs(ref[i] - got[i]);
      if (!(diff <= maxDiff)) { maxDiff = diff; worst = i; }
    }
    if (!(maxDiff <= relTol * maxRef)) {
      fail(String.format("%s: max |diff| %.3g at %d (got %.6g, want %.6g) exceeds %.3g x max|ref| %.3g", what, maxDiff, worst,
          got[worst], ref[worst], relTol, maxRef));
    }
  }
}
