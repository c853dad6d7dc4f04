package io.rewardkit.policy;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;

/**
 * The LM head as a policy needs it: per-response sums of the log-probs of the entries of {@link PolicyTargets},
 * through the fused linear cross-entropy ({@link Backend#linearCrossEntropyForward}), so the
 * {@code [tokens, vocab]} logits never exist. The predicting rows are gathered into an {@code [N, D]} buffer first
 * (a row may predict two tokens in the shared-prefix layout) and their gradients scatter-added back.
 *
 * <p>Sums are taken on the host in double, in entry (= token) order, so both layouts sum the same numbers in the
 * same order. Buffers grow with the largest batch seen and are reused. CPU backend (F32, or F64 for gradient
 * checks); not thread-safe.
 */
public final class PolicyHead implements AutoCloseable {
  private final Backend be;
  private final DType dtype;
  private int cap;  // entries the buffers hold
  private long dim;
  private Tensor rows, targets, gathered, logp, lse, dLogp, dGathered;
  private PolicyTargets last;

  public PolicyHead(Backend backend, DType dtype) {
    if (dtype != DType.F32 && dtype != DType.F64) {
      throw new IllegalArgumentException("the policy head runs on the CPU backend (F32/F64) so far, not " + dtype);
    }
    this.be = backend;
    this.dtype = dtype;
  }

  /** Per-response sums (response and prompt entries) of one forward. */
  public record Logps(double[] response, double[] prompt, double[] entries) {}

  /**
   * Log-probs of the entries of {@code t} under {@code hidden} [T, D] (the final normed hidden states) and the head
   * weight {@code w} [V, D]; keeps what {@link #backward} needs.
   */
  public Logps forward(Tensor hidden, Tensor w, PolicyTargets t) {
    long d = w.dim(1);
    int n = t.numEntries();
    ensure(n, d);
    Tensor r = rows.view(0, n), y = targets.view(0, n), g = gathered.view(0, n, d);
    be.upload(r, t.rows());
    be.upload(y, t.targets());
    be.embeddingForward(g, r, hidden.reshape(hidden.numel() / d, d));  // g[i] = hidden[rows[i]]
    be.linearCrossEntropyForward(logp.view(0, n), lse.view(0, n), g, w, y);
    double[] e = be.downloadDoubles(logp.view(0, n));
    double[] resp = new double[t.numResponses()], prompt = new double[t.numResponses()];
    for (int i = 0; i < n; i++) {
      int o = t.owner()[i];
      if (o >= 0) resp[o] += e[i];
      else prompt[-1 - o] += e[i];
    }
    last = t;
    return new Logps(resp, prompt, e);
  }

  /**
   * Gradients of the last forward given dLoss/dresponse-sum [S] and dLoss/dprompt-sum [S] (null: zero):
   * {@code dHidden} [T, D] is OVERWRITTEN (zero for rows that predict nothing), {@code dW} [V, D] ACCUMULATED.
   */
  public void backward(Tensor dHidden, Tensor dW, Tensor hidden, Tensor w, double[] dResponse, double[] dPrompt) {
    if (last == null) throw new IllegalStateException("backward without a forward");
    PolicyTargets t = last;
    long d = w.dim(1);
    int n = t.numEntries();
    double[] de = new double[n];
    for (int i = 0; i < n; i++) {
      int o = t.owner()[i];
      de[i] = o >= 0 ? dResponse[o] : (dPrompt == null ? 0 : dPrompt[-1 - o]);
    }
    be.upload(dLogp.view(0, n), de);
    Tensor r = rows.view(0, n), g = gathered.view(0, n, d), dg = dGathered.view(0, n, d);
    be.linearCrossEntropyBackward(dg, dW, dLogp.view(0, n), lse.view(0, n), g, w, targets.view(0, n));
    be.zero(dHidden);
    be.embeddingBackward(dHidden.reshape(dHidden.numel() / d, d), dg, r);  // dHidden[rows[i]] += dg[i]
  }

  private void ensure(int n, long d) {
    if (rows != null && n <= cap && d == dim) return;
    close();
    cap = Math.max(n, 1);
    dim = d;
    rows = be.allocate(DType.I32, cap);              // [N]
    targets = be.allocate(DType.I32, cap);           // [N]
    gathered = be.allocate(dtype, (long) cap * d);   // [N, D]
    dGathered = be.allocate(dtype, (long) cap * d);  // [N, D]
    logp = be.allocate(dtype, cap);                  // [N]
    lse = be.allocate(dtype, cap);                   // [N]
    dLogp = be.allocate(dtype, cap);                 // [N]
  }

  @Override
  public void close() {
    for (Tensor x : new Tensor[] {rows, targets, gathered, dGathered, logp, lse, dLogp}) if (x != null) x.close();
    rows = targets = gathered = dGathered = logp = lse = dLogp = null;
  }
}
