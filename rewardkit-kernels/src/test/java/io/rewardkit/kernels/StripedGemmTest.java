package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.kernels.cpu.CpuThreads;
import io.rewardkit.kernels.cpu.Gemm;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

/**
 * The GEMM striped over OpenMP threads (rows or columns of C, never K): row stripes equal one plain
 * single-threaded OpenBLAS call bit for bit, for every stripe count, on awkward shapes (odd sizes, every
 * transpose, padded leading dimensions, beta 0 and 1); column stripes give the same bits run after run; all agree
 * with a float64 reference. The shapes keep each stripe above OpenBLAS's small-matrix bound (M·N·K <= 10^6), as
 * the production plan does.
 */
class StripedGemmTest {
  // m, n, k, transA, transB, extra leading-dimension padding
  private static final int[][] SHAPES = {
      {1037, 301, 77, 0, 1, 0},
      {173, 1029, 131, 1, 0, 3},
      {2049, 67, 513, 0, 0, 5},
      {65, 1500, 200, 1, 1, 1},
      {999, 999, 33, 0, 1, 7},
  };

  @Test
  void stripesEqualOnePlainCallBitForBit() {
    CpuBlas.load();
    SplittableRandom rng = new SplittableRandom(17);
    for (int[] s : SHAPES) {
      int m = s[0], n = s[1], k = s[2], pad = s[5];
      boolean ta = s[3] == 1, tb = s[4] == 1;
      long lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
      float[] a = random(rng, (ta ? k : m) * lda), b = random(rng, (tb ? n : k) * ldb), c0 = random(rng, m * ldc);
      for (float beta : new float[] {0f, 1f}) {
        float alpha = 0.75f;
        float[] plain = run(1, true, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc);
        double[] ref = reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc);
        for (int r = 0; r < m; r++) {
          for (int col = 0; col < n; col++) {
            int i = (int) (r * ldc + col);
            assertEquals(ref[i], plain[i], 1e-4 * (1 + Math.abs(ref[i])) * Math.sqrt(k), "plain vs float64 at " + r + "," + col);
          }
        }
        for (int stripes : new int[] {2, 3, 5, 7}) {
          float[] striped = run(stripes, true, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc);
          String what = "M " + m + " N " + n + " K " + k + " transA " + ta + " transB " + tb + " pad " + pad
              + " beta " + beta + ", " + stripes + " row stripes";
          for (int i = 0; i < striped.length; i++) {
            assertEquals(Float.floatToRawIntBits(plain[i]), Float.floatToRawIntBits(striped[i]),
                what + ": element " + i + " (" + plain[i] + " vs " + striped[i] + ")");
          }
          float[] cols = run(stripes, false, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc);
          float[] again = run(stripes, false, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ldc);
          for (int r = 0; r < m; r++) {
            for (int col = 0; col < ldc; col++) {
              int i = (int) (r * ldc + col);
              assertEquals(Float.floatToRawIntBits(cols[i]), Float.floatToRawIntBits(again[i]), what + ", column stripes run 2: element " + i);
              if (col >= n) {
                assertEquals(c0[i], cols[i], 0.0, what + ", column stripes: padding element " + i + " untouched");
              } else {
                assertEquals(ref[i], cols[i], 1e-4 * (1 + Math.abs(ref[i])) * Math.sqrt(k), what + ", column stripes vs float64 at " + r + "," + col);
              }
            }
          }
        }
      }
    }
  }

  @Test
  void theCallersThreadCountPicksTheStripesAndGivesTheSameBits() {
    CpuBlas.load();
    int before = CpuThreads.get_cpu_threads();
    try {
      SplittableRandom rng = new SplittableRandom(5);
      int m = 1531, n = 353, k = 129;
      float[] a = random(rng, m * k), b = random(rng, n * k), c0 = new float[m * n];
      CpuThreads.set(1);
      float[] one = runAuto(m, n, k, a, b, c0);
      for (int threads : new int[] {2, 3}) {
        CpuThreads.set(threads);
        assertEquals(threads, Gemm.sgemm_stripes(m, n, k, threads, false), "a " + m + "x" + n + "x" + k + " GEMM is striped by rows");
        float[] first = runAuto(m, n, k, a, b, c0), second = runAuto(m, n, k, a, b, c0);
        float[] explicit = run(threads, true, false, true, m, n, k, 1f, a, k, b, k, 0f, c0, n);
        for (int i = 0; i < first.length; i++) {
          assertEquals(Float.floatToRawIntBits(first[i]), Float.floatToRawIntBits(second[i]), threads + " threads, run 2, element " + i);
          assertEquals(Float.floatToRawIntBits(explicit[i]), Float.floatToRawIntBits(first[i]), threads + " threads vs its plan, element " + i);
          // row stripes: a row's bits do not depend on the thread count either
          assertEquals(Float.floatToRawIntBits(one[i]), Float.floatToRawIntBits(first[i]), threads + " threads vs 1, element " + i);
        }
      }
    } finally {
      CpuThreads.set(before);
    }
  }

  @Test
  void thePlanStripesRowsAndColumnsOnlyWhenAllowed() {
    assertEquals(1, Gemm.sgemm_stripes(10, 64, 64, 8, true), "40k multiply-adds");
    assertEquals(1, Gemm.sgemm_stripes(64, 64, 64, 8, true), "a stripe would be under 4M multiply-adds");
    assertEquals(1, Gemm.sgemm_stripes(4096, 128, 128, 1, true), "one thread");
    assertEquals(2, Gemm.sgemm_stripes(4096, 128, 128, 2, false));
    assertEquals(8, Gemm.sgemm_stripes(4096, 128, 128, 8, false), "64M multiply-adds carry 8 row stripes of 8M");
    assertEquals(1, Gemm.sgemm_stripes(1, 1, 100_000_000, 8, true), "a 1x1 output cannot be split");
    // weight gradient dw[O, I] += dOutᵀ·x over 4096 tokens: 128 rows split 96 + 32, columns 64 + 64
    assertEquals(-2, Gemm.sgemm_stripes(128, 128, 4096, 2, true), "columns balance better");
    assertEquals(2, Gemm.sgemm_stripes(128, 128, 4096, 2, false), "rows only when columns are not allowed");
    assertEquals(2, Gemm.sgemm_stripes(960, 128, 4096, 2, true), "rows split evenly: rows");
    assertEquals(1, Gemm.sgemm_stripes(40, 8, 100_000, 2, false), "40 rows are one row stripe");
  }

  @Test
  void badArgumentsAreRefusedWithTheField() {
    CpuBlas.load();
    try (FloatPointer p = new FloatPointer(16)) {
      RuntimeException e = assertThrows(RuntimeException.class, () -> Gemm.sgemm(true, false, false, 4, 4, 4, 1f, p, 2, p, 4, 0f, p, 4));
      assertTrue(e.getMessage().contains("lda 2"), e.getMessage());
      e = assertThrows(RuntimeException.class, () -> Gemm.sgemm_striped(0, true, false, false, 2, 2, 2, 1f, p, 2, p, 2, 0f, p, 2));
      assertTrue(e.getMessage().contains("stripes"), e.getMessage());
    }
  }

  private static float[] runAuto(int m, int n, int k, float[] a, float[] b, float[] c0) {
    try (FloatPointer pa = new FloatPointer(a); FloatPointer pb = new FloatPointer(b); FloatPointer pc = new FloatPointer(c0)) {
      CpuBlas.sgemm(false, false, true, m, n, k, 1f, pa, k, pb, k, 0f, pc, n);
      float[] out = new float[c0.length];
      pc.get(out);
      return out;
    }
  }

  private static float[] run(int stripes, boolean rows, boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, long lda,
      float[] b, long ldb, float beta, float[] c0, long ldc) {
    try (FloatPointer pa = new FloatPointer(a); FloatPointer pb = new FloatPointer(b); FloatPointer pc = new FloatPointer(c0)) {
      Gemm.sgemm_striped(stripes, rows, ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
      float[] out = new float[c0.length];
      pc.get(out);
      return out;
    }
  }

  private static double[] reference(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, long lda,
      float[] b, long ldb, float beta, float[] c0, long ldc) {
    double[] c = new double[c0.length];
    for (int i = 0; i < c0.length; i++) c[i] = c0[i];
    for (int r = 0; r < m; r++) {
      for (int col = 0; col < n; col++) {
        double s = 0;
        for (int p = 0; p < k; p++) {
          double x = ta ? a[(int) (p * lda + r)] : a[(int) (r * lda + p)];
          double y = tb ? b[(int) (col * ldb + p)] : b[(int) (p * ldb + col)];
          s += x * y;
        }
        int i = (int) (r * ldc + col);
        c[i] = alpha * s + beta * c0[i];
      }
    }
    return c;
  }

  private static float[] random(SplittableRandom rng, long n) {
    float[] x = new float[(int) n];
    for (int i = 0; i < x.length; i++) x[i] = (float) (2 * rng.nextDouble() - 1);
    return x;
  }
}
