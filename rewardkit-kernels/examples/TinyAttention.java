import io.rewardkit.kernels.*;
import java.util.Random;

/** A tiny attention block (q/k/v/o projections, causal GQA attention) fit to a random target with SGD. */
public class TinyAttention {
  public static void main(String[] args) {
    int T = 8, D = 8, Hq = 2, Hkv = 1, hd = 4;  // tokens, model dim, query / key-value heads, head dim
    Random rnd = new Random(42);
    try (Backend b = new CpuBackend()) {
      Tensor x = t(b, rnd, 1.0, T, D), target = t(b, rnd, 0.5, T, D);
      Tensor[] w = {t(b, rnd, 0.3, Hq * hd, D), t(b, rnd, 0.3, Hkv * hd, D), t(b, rnd, 0.3, Hkv * hd, D), t(b, rnd, 0.3, D, Hq * hd)};
      Tensor[] g = new Tensor[4];  // gradients of wq, wk, wv, wo (linearBackward accumulates into them)
      for (int i = 0; i < 4; i++) g[i] = b.allocate(DType.F32, w[i].shape());
      Tensor q = b.allocate(DType.F32, T, Hq, hd), k = b.allocate(DType.F32, T, Hkv, hd), v = b.allocate(DType.F32, T, Hkv, hd);
      Tensor att = b.allocate(DType.F32, T, Hq, hd), lse = b.allocate(DType.F32, Hq, T), y = b.allocate(DType.F32, T, D);
      Tensor dy = b.allocate(DType.F32, T, D), datt = b.allocate(DType.F32, T, Hq * hd);
      Tensor dq = b.allocate(DType.F32, T, Hq, hd), dk = b.allocate(DType.F32, T, Hkv, hd), dv = b.allocate(DType.F32, T, Hkv, hd);
      Tensor cu = b.allocate(DType.I32, 2);
      b.upload(cu, new int[] {0, T});  // one sequence of T tokens
      VarlenLayout layout = new VarlenLayout(cu, null, 1, T, T);
      double scale = 1 / Math.sqrt(hd), lr = 0.5;
      for (int step = 0; step <= 100; step++) {
        // forward: q, k, v = x·Wᵀ; attention; y = att·Woᵀ; loss = mean((y - target)²)
        b.linearForward(q.reshape(T, Hq * hd), x, w[0], null);
        b.linearForward(k.reshape(T, Hkv * hd), x, w[1], null);
        b.linearForward(v.reshape(T, Hkv * hd), x, w[2], null);
        b.attentionForward(att, lse, q, k, v, layout, scale);
        b.linearForward(y, att.reshape(T, Hq * hd), w[3], null);
        float[] yh = b.downloadFloats(y), th = b.downloadFloats(target), dyh = new float[yh.length];
        double loss = 0;
        for (int i = 0; i < yh.length; i++) { loss += (yh[i] - th[i]) * (yh[i] - th[i]) / yh.length; dyh[i] = 2 * (yh[i] - th[i]) / yh.length; }
        if (step % 20 == 0) System.out.printf("step %3d  loss %.6f%n", step, loss);
        // backward (parameter gradients accumulate, so zero them first), then SGD: w -= lr * g
        for (Tensor gi : g) b.zero(gi);
        b.upload(dy, dyh);
        b.linearBackward(datt, g[3], null, dy, att.reshape(T, Hq * hd), w[3]);
        b.attentionBackward(dq, dk, dv, datt.reshape(T, Hq, hd), q, k, v, att, lse, layout, scale);
        b.linearBackward(null, g[0], null, dq.reshape(T, Hq * hd), x, w[0]);
        b.linearBackward(null, g[1], null, dk.reshape(T, Hkv * hd), x, w[1]);
        b.linearBackward(null, g[2], null, dv.reshape(T, Hkv * hd), x, w[2]);
        for (int i = 0; i < 4; i++) {
          float[] wi = b.downloadFloats(w[i]), gi = b.downloadFloats(g[i]);
          for (int j = 0; j < wi.length; j++) wi[j] -= (float) (lr * gi[j]);
          b.upload(w[i], wi);
        }
      }
    }
  }

  static Tensor t(Backend b, Random rnd, double std, long... shape) {
    float[] a = new float[(int) Tensor.numel(shape)];
    for (int i = 0; i < a.length; i++) a[i] = (float) (rnd.nextGaussian() * std);
    Tensor out = b.allocate(DType.F32, shape);
    b.upload(out, a);
    return out;
  }
}
