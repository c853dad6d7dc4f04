package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * An F32 linear's row does not depend on how many rows the call has: the first rows of a 1000-row
 * call equal the same rows run alone, bit for bit, across the tiny shapes OpenBLAS would otherwise
 * send to its small-matrix kernel (out x tokens <= 1200).
 */
class LinearRowInvarianceTest {
  @Test void rowsAreTheSameWhateverTheRowCount() {
    Backend be = new CpuBackend();
    Random rnd = new Random(3);
    for (int[] oi : new int[][] {{64, 64}, {128, 64}, {32, 128}, {352, 128}, {1, 64}}) {
      int o = oi[0], in = oi[1], big = 1000;
      float[] xs = new float[big * in], ws = new float[o * in];
      for (int k = 0; k < xs.length; k++) xs[k] = (float) rnd.nextGaussian();
      for (int k = 0; k < ws.length; k++) ws[k] = (float) rnd.nextGaussian() * 0.1f;
      try (Tensor x = Tensor.hostOf(xs, big, in); Tensor w = Tensor.hostOf(ws, o, in); Tensor all = Tensor.host(DType.F32, big, o)) {
        be.linearForward(all, x, w, null);
        float[] ref = all.toFloatArray();
        for (int t : new int[] {1, 2, 5, 9, 18, 37}) {
          try (Tensor y = Tensor.host(DType.F32, t, o)) {
            be.linearForward(y, x.view(0, t, in), w, null);
            float[] got = y.toFloatArray();
            for (int k = 0; k < got.length; k++) {
              assertEquals(ref[k], got[k], 0.0, "out " + o + ", in " + in + ", " + t + " rows: element " + k);
            }
          }
        }
      }
    }
  }
}
