package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.rewardkit.kernels.cpu.CpuThreads;
import io.rewardkit.kernels.cpu.GemmBf16;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

/**
 * The bf16 GEMM (rewardkit/gemm_bf16.h): the AVX-512 kernel equals the scalar reference bit for bit (same bf16
 * rounding, same per-lane order acc += a[k+1]·b[k+1], acc += a[k]·b[k] that vdpbf16ps follows on this CPU), both
 * stay within the fp32 summation bound of the float64 product of the bf16-rounded inputs, results do not depend on
 * threads, stripes or row offset, and a CPU without AVX512-BF16 (or with it disabled: the setter, or
 * RK_DISABLE_AVX512BF16=1 in a child JVM) leaves the backend on fp32 with one warning. Kernel tests skip on CPUs without AVX512-BF16; the reference and fallback tests run anywhere.
 */
class Bf16GemmTest {
  private static final double U = 0x1p-24;  // unit roundoff of fp32
  // m, n, k: single rows/columns/depth, odd K, row tails, column tails of 1-16 and 17-31 (both zmm halves), exact
  // tiles, long K.
  private static final int[][] SHAPES = {
      {1, 1, 1}, {1, 37, 5}, {13, 1, 9}, {25, 31, 1}, {47, 50, 31}, {12, 32, 64}, {100, 97, 130}, {250, 70, 257},
      {61, 300, 1000},
  };

  private static final String NO_BF16 = "this CPU has no AVX512-BF16 (vdpbf16ps): kernel test skipped";

  @Test
  void kernelEqualsReferenceBitForBitAndBothStayWithinTheFp32SumBound() {
    CpuBlas.load();
    boolean kernel = CpuBlas.bf16Supported();
    SplittableRandom rng = new SplittableRandom(11);
    int cases = 0;
    for (int[] s : SHAPES) {
      for (int trans = 0; trans < 4; trans++) {
        boolean ta = (trans & 1) != 0, tb = (trans & 2) != 0;
        int m = s[0], n = s[1], k = s[2], pad = rng.nextInt(4);
        long lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad + 1, ldc = n + pad + 2;
        float[] a = random(rng, (ta ? k : m) * lda), b = random(rng, (tb ? n : k) * ldb), c0 = random(rng, m * ldc);
        for (float beta : new float[] {0f, 1f}) {
          float alpha = beta == 0f ? 1f : -0.75f;
          String what = "M " + m + " N " + n + " K " + k + " transA " + ta + " transB " + tb + " pad " + pad + " alpha " + alpha
              + " beta " + beta;
          float[] ref = reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc);
          assertWithinBound(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc, ref, what + " (reference)");
          if (kernel) {
            float[] got = run(0, true, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc);
            assertBits(ref, got, what + ": kernel vs reference");
          }
          cases++;
        }
      }
    }
    assertEquals(SHAPES.length * 8, cases);
    assumeTrue(kernel, NO_BF16);
  }

  @Test
  void resultsDoNotDependOnStripesThreadsOrRowOffset() {
    CpuBlas.load();
    assumeTrue(CpuBlas.bf16Supported(), NO_BF16);
    SplittableRandom rng = new SplittableRandom(3);
    int m = 301, n = 171, k = 203;
    for (int trans = 0; trans < 4; trans++) {
      boolean ta = (trans & 1) != 0, tb = (trans & 2) != 0;
      long lda = ta ? m : k, ldb = tb ? k : n, ldc = n;
      float[] a = random(rng, (ta ? k : m) * lda), b = random(rng, (tb ? n : k) * ldb), c0 = random(rng, m * ldc);
      float[] one = run(1, true, ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 1f, c0, ldc);
      for (int stripes : new int[] {2, 3, 7}) {
        assertBits(one, run(stripes, true, ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 1f, c0, ldc), stripes + " row stripes");
        assertBits(one, run(stripes, false, ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 1f, c0, ldc), stripes + " column stripes");
      }
      int before = CpuThreads.get_cpu_threads();
      try {
        for (int threads : new int[] {1, 2, 3}) {
          CpuThreads.set(threads);
          assertBits(one, run(0, true, ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 1f, c0, ldc), threads + " threads");
          assertBits(one, run(0, false, ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 1f, c0, ldc), threads + " threads, columns allowed");
        }
      } finally {
        CpuThreads.set(before);
      }
      // Rows r0 .. r0+rows-1 alone (A and C at a row offset, a row count that is no multiple of any tile).
      for (int[] cut : new int[][] {{5, 1}, {7, 30}, {100, 77}, {13, 288}}) {
        int r0 = cut[0], rows = cut[1];
        float[] sub = runRows(ta, tb, m, n, k, a, lda, b, ldb, c0, ldc, r0, rows);
        for (int i = 0; i < rows * n; i++) {
          int r = r0 + i / n, col = i % n;
          assertEquals(Float.floatToRawIntBits(one[(int) (r * ldc + col)]), Float.floatToRawIntBits(sub[i]),
              "transA " + ta + " transB " + tb + ": row " + r + " computed among rows " + r0 + ".." + (r0 + rows - 1));
        }
      }
    }
  }

  @Test
  void zeroSizesAndSpecialValues() {
    CpuBlas.load();
    assumeTrue(CpuBlas.bf16Supported(), NO_BF16);
    float[] c = {3f, 4f};
    // M or N zero: nothing written; K zero: C = alpha·0 + beta·C.
    assertArrayEquals(c, run(0, true, false, false, 0, 2, 3, 1f, new float[3], 3, new float[6], 2, 0f, c, 2));
    assertArrayEquals(c, run(0, true, false, false, 1, 0, 3, 1f, new float[3], 3, new float[6], 1, 0f, c, 1));
    assertArrayEquals(new float[] {0f, 0f}, run(0, true, false, false, 1, 2, 0, 1f, new float[1], 1, new float[2], 2, 0f, c, 2));
    assertArrayEquals(new float[] {1.5f, 2f}, run(0, true, false, false, 1, 2, 0, 1f, new float[1], 1, new float[2], 2, 0.5f, c, 2));
    // beta 0 does not read C (NaN there does not propagate); NaN in A gives NaN.
    float[] got = run(0, true, false, false, 1, 2, 2, 1f, new float[] {1f, 2f}, 2, new float[] {1f, 1f, 1f, 1f}, 2, 0f,
        new float[] {Float.NaN, Float.NaN}, 2);
    assertArrayEquals(new float[] {3f, 3f}, got);
    got = run(0, true, false, false, 1, 2, 2, 1f, new float[] {Float.NaN, 2f}, 2, new float[] {1f, 1f, 1f, 1f}, 2, 0f, c, 2);
    assertTrue(Float.isNaN(got[0]) && Float.isNaN(got[1]));
    // Rounding: ties to even, carries into the exponent, NaN stays a (quiet) NaN, subnormals -> signed zero.
    assertEquals((short) 0x3F80, GemmBf16.bf16_round(Float.intBitsToFloat(0x3F808000)));  // tie, even below
    assertEquals((short) 0x3F82, GemmBf16.bf16_round(Float.intBitsToFloat(0x3F818000)));  // tie, even above
    assertEquals((short) 0x3F81, GemmBf16.bf16_round(Float.intBitsToFloat(0x3F808001)));
    assertEquals((short) 0x4000, GemmBf16.bf16_round(Float.intBitsToFloat(0x3FFFFFFF)));
    assertEquals((short) 0x7FC0, GemmBf16.bf16_round(Float.NaN));
    assertEquals((short) 0x7FE1, GemmBf16.bf16_round(Float.intBitsToFloat(0x7FE10000)));  // payload kept
    assertEquals((short) 0x8000, GemmBf16.bf16_round(-Float.MIN_VALUE));
    assertEquals((short) 0x7F80, GemmBf16.bf16_round(Float.POSITIVE_INFINITY));
    assertEquals((short) 0x7F80, GemmBf16.bf16_round(Float.MAX_VALUE));  // rounds up past the largest bf16
    // Only bf16 precision survives: 1 + 2^-10 rounds to 1, so (1 + 2^-10)·1 = 1 exactly.
    got = run(0, true, false, false, 1, 1, 1, 1f, new float[] {1f + 0x1p-10f}, 1, new float[] {1f}, 1, 0f, new float[1], 1);
    assertEquals(1f, got[0]);
  }

  @Test
  void withoutTheFeatureTheBackendWarnsOnceAndStaysFp32() {
    CpuBlas.load();
    PrintStream err = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    CpuBlas.setBf16Disabled(true);
    try {
      System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
      assertFalse(CpuBlas.bf16Supported());
      try (CpuBackend be = new CpuBackend(true)) {
        assertEquals("fp32", be.matmulPrecision());
      }
      try (FloatPointer p = new FloatPointer(1)) {
        RuntimeException e = assertThrows(RuntimeException.class, () -> CpuBlas.bf16Gemm(false, false, false, 1, 1, 1, 1f, p, 1, p, 1, 0f, p, 1));
        assertTrue(e.getMessage().contains("AVX512-BF16"), e.getMessage());
      }
    } finally {
      System.setErr(err);
      CpuBlas.setBf16Disabled(false);
    }
    assertEquals(CpuBackend.NO_BF16_WARNING + System.lineSeparator(), captured.toString(StandardCharsets.UTF_8));
    try (CpuBackend plain = new CpuBackend(); CpuBackend asked = new CpuBackend(true)) {
      assertEquals("fp32", plain.matmulPrecision());
      assertEquals(CpuBlas.bf16Supported() ? "bf16" : "fp32", asked.matmulPrecision());
    }
  }

  /** RK_DISABLE_AVX512BF16=1 in the environment (read at the first check) turns the kernel off: a child JVM. */
  @Test
  void theEnvironmentVariableTurnsTheKernelOff() throws Exception {
    assertEquals("false", childSays("1"));
    assertEquals(String.valueOf(CpuBlas.bf16Supported()), childSays("0"));
  }

  /** Prints CpuBlas.bf16Supported() (run by {@link #childSays} in a child JVM). */
  public static final class Probe {
    public static void main(String[] args) {
      System.out.println("bf16Supported=" + CpuBlas.bf16Supported());
    }
  }

  private static String childSays(String disable) throws Exception {
    java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
        "-cp", System.getProperty("java.class.path")));
    String cache = System.getProperty("org.bytedeco.javacpp.cachedir");
    if (cache != null) cmd.add("-Dorg.bytedeco.javacpp.cachedir=" + cache);
    cmd.add(Probe.class.getName());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("RK_DISABLE_AVX512BF16", disable);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), out);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("bf16Supported=(true|false)").matcher(out);
    assertTrue(m.find(), out);
    return m.group(1);
  }

  @Test
  void bf16LinearUsesTheKernelInForwardAndBothBackwardGemms() {
    CpuBlas.load();
    assumeTrue(CpuBlas.bf16Supported(), NO_BF16);
    SplittableRandom rng = new SplittableRandom(8);
    int t = 53, in = 70, out = 45;
    float[] x = random(rng, (long) t * in), w = random(rng, (long) out * in), dOut = random(rng, (long) t * out),
        dw0 = random(rng, (long) out * in);
    try (CpuBackend be = new CpuBackend(true);
         Tensor tx = Tensor.host(DType.F32, t, in); Tensor tw = Tensor.host(DType.F32, out, in);
         Tensor ty = Tensor.host(DType.F32, t, out); Tensor tdo = Tensor.host(DType.F32, t, out);
         Tensor tdx = Tensor.host(DType.F32, t, in); Tensor tdw = Tensor.host(DType.F32, out, in)) {
      assertEquals("bf16", be.matmulPrecision());
      be.upload(tx, x);
      be.upload(tw, w);
      be.upload(tdo, dOut);
      be.upload(tdw, dw0);
      be.linearForward(ty, tx, tw, null);
      be.linearBackward(tdx, tdw, null, tdo, tx, tw);
      assertBits(reference(false, true, t, out, in, 1f, x, in, w, in, 0f, new float[t * out], out), read(ty), "forward");
      assertBits(reference(false, false, t, in, out, 1f, dOut, out, w, in, 0f, new float[t * in], in), read(tdx), "dX");
      assertBits(reference(true, false, out, in, t, 1f, dOut, out, x, in, 1f, dw0, in), read(tdw), "dW (accumulated)");
    }
  }

  // ---- helpers ------------------------------------------------------------------------------------

  /** |C - C64| <= |alpha|·(K+1)·u·Σ|a||b| (recursive fp32 summation of exact products) + 2u·|C64| (epilogue). */
  private static void assertWithinBound(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, long lda, float[] b,
      long ldb, float beta, float[] c0, long ldc, float[] got, String what) {
    for (int r = 0; r < m; r++) {
      for (int col = 0; col < ldc; col++) {
        int i = (int) (r * ldc + col);
        if (col >= n) {
          assertEquals(Float.floatToRawIntBits(c0[i]), Float.floatToRawIntBits(got[i]), what + ": padding element " + i + " written");
          continue;
        }
        double sum = 0, abs = 0;
        for (int kk = 0; kk < k; kk++) {
          double p = bf16(ta ? a[(int) (kk * lda + r)] : a[(int) (r * lda + kk)])
              * bf16(tb ? b[(int) (col * ldb + kk)] : b[(int) (kk * ldb + col)]);
          sum += p;
          abs += Math.abs(p);
        }
        double exact = alpha * sum + (beta == 0f ? 0 : (double) beta * c0[i]);
        double bound = Math.abs(alpha) * (k + 1) * U * abs + 2 * U * Math.abs(exact) + Float.MIN_NORMAL;
        assertTrue(Math.abs(got[i] - exact) <= bound, what + " at " + r + "," + col + ": " + got[i] + " vs " + exact + " bound " + bound);
      }
    }
  }

  private static double bf16(float x) {
    return Float.intBitsToFloat((GemmBf16.bf16_round(x) & 0xFFFF) << 16);
  }

  private static void assertBits(float[] want, float[] got, String what) {
    assertEquals(want.length, got.length, what);
    for (int i = 0; i < want.length; i++) {
      int wi = i;
      if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
        fail(what + ": element " + wi + ": " + want[wi] + " vs " + got[wi]);
      }
    }
  }

  /** stripes 0: bf16Gemm with the thread count's plan (rows: allowColumns false); else bf16_gemm_striped. */
  private static float[] run(int stripes, boolean rows, boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a,
      long lda, float[] b, long ldb, float beta, float[] c0, long ldc) {
    try (FloatPointer pa = new FloatPointer(a); FloatPointer pb = new FloatPointer(b); FloatPointer pc = new FloatPointer(c0)) {
      if (stripes == 0) CpuBlas.bf16Gemm(!rows, ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
      else GemmBf16.bf16_gemm_striped(stripes, rows, ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
      float[] c = new float[c0.length];
      pc.get(c);
      return c;
    }
  }

  /** Rows r0 .. r0+rows-1 of C = 0.5·op(A)·op(B) + C, computed alone from op(A) at a row offset. */
  private static float[] runRows(boolean ta, boolean tb, int m, int n, int k, float[] a, long lda, float[] b, long ldb,
      float[] c0, long ldc, int r0, int rows) {
    float[] c = new float[rows * n];
    for (int i = 0; i < rows * n; i++) c[i] = c0[(int) ((r0 + i / n) * ldc + i % n)];
    try (FloatPointer pa = new FloatPointer(a); FloatPointer pb = new FloatPointer(b); FloatPointer pc = new FloatPointer(c)) {
      FloatPointer sub = pa.getPointer(ta ? r0 : r0 * lda);
      CpuBlas.bf16Gemm(false, ta, tb, rows, n, k, 0.5f, sub, lda, pb, ldb, 1f, pc, n);
      pc.get(c);
    }
    return c;
  }

  private static float[] reference(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, long lda, float[] b,
      long ldb, float beta, float[] c0, long ldc) {
    try (FloatPointer pa = new FloatPointer(a); FloatPointer pb = new FloatPointer(b); FloatPointer pc = new FloatPointer(c0)) {
      GemmBf16.bf16_gemm_reference(ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
      float[] c = new float[c0.length];
      pc.get(c);
      return c;
    }
  }

  private static float[] read(Tensor t) {
    float[] out = new float[(int) t.numel()];
    t.f32().get(out);
    return out;
  }

  private static float[] random(SplittableRandom rng, long n) {
    float[] x = new float[(int) Math.max(1, n)];
    for (int i = 0; i < x.length; i++) x[i] = (float) (rng.nextGaussian() * Math.exp(rng.nextDouble(-2, 2)));
    return x;
  }
}
