package io.rewardkit.kernels;

/**
 * The ops a reward model needs, on one device. A backend is chosen once at start-up
 * ({@link Backends#select}); model and trainer code only ever talk to this interface.
 *
 * <p>Conventions: tensors are row-major; {@code T} is the number of packed tokens in a batch,
 * {@code D} the hidden size, {@code Hq}/{@code Hkv} query/key-value heads, {@code hd} the head dim,
 * {@code R} the number of readout positions (one per scored response). Backward ops OVERWRITE
 * activation gradients ({@code dx}) and ACCUMULATE parameter gradients ({@code dw}), so gradient
 * accumulation across micro-batches needs no extra pass. All floating tensors of one call share a
 * dtype ({@link #computeType()}; the CPU backend also accepts F64, which tests use for finite
 * differences), except where a parameter says F32.
 */
public interface Backend extends AutoCloseable {

  /** Human-readable name, e.g. {@code cpu (2 threads, OpenBLAS)}. */
  String name();

  Device device();

  /** The dtype activations and weights use on this backend (F32 on CPU, BF16 on CUDA). */
  DType computeType();

  /**
   * The precision of the linear layers' GEMM operands: "bf16" (bf16 operands, fp32 accumulation: the CUDA backend,
   * the CPU backend with bf16 matmuls) or "fp32". For the startup line, metrics and bench records.
   */
  default String matmulPrecision() { return computeType() == DType.BF16 ? "bf16" : "fp32"; }

  /**
   * Why this backend cannot run attention with these shapes (one line, naming the limit), or null
   * when it can. Checked when a model is built, so an unsupported config fails at load, not mid-step.
   */
  default String attentionShapeProblem(int headDim, int numHeads, int numKvHeads) { return null; }

  // ---- memory ---------------------------------------------------------------------------------

  /** Allocates a zero-filled tensor on this backend's device. */
  Tensor allocate(DType dtype, long... shape);

  /** Host array to tensor (same element count; float data is converted to the tensor's dtype). */
  void upload(Tensor dst, float[] src);

  void upload(Tensor dst, double[] src);

  void upload(Tensor dst, int[] src);

  /** Tensor contents as float (converted from the tensor's dtype). */
  float[] downloadFloats(Tensor src);

  double[] downloadDoubles(Tensor src);

  int[] downloadInts(Tensor src);

  /** dst = src, same dtype and element count. */
  void copy(Tensor dst, Tensor src);

  /** Sets every element to zero. */
  void zero(Tensor t);

  /** Waits for queued work to finish (no-op on CPU). */
  void synchronize();

  // ---- model ops ------------------------------------------------------------------------------

  /** out[t, :] = table[ids[t], :].  out [T, D], ids I32 [T], table [V, D]. */
  void embeddingForward(Tensor out, Tensor ids, Tensor table);

  /** dTable[ids[t], :] += dOut[t, :] (accumulates).  dTable [V, D], dOut [T, D], ids I32 [T]. */
  void embeddingBackward(Tensor dTable, Tensor dOut, Tensor ids);

  /** out = x * rstd * w per row.  out, x [N, D]; w [D]; rstd [N] (saved for backward). */
  void rmsnormForward(Tensor out, Tensor rstd, Tensor x, Tensor w, double eps);

  /** dx [N, D] overwritten; dw [D] accumulated. */
  default void rmsnormBackward(Tensor dx, Tensor dw, Tensor dOut, Tensor x, Tensor w, Tensor rstd) {
    rmsnormBackward(dx, dw, dOut, x, w, rstd, false);
  }

  /**
   * {@link #rmsnormBackward(Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)} with {@code accumulateDx}: dx += the
   * gradient instead of dx = (a residual stream's gradient gathers the norm's branch in the same pass). Each
   * element's gradient is rounded to the dtype first and then added, so the result is bit-identical to the
   * overwrite into a scratch followed by {@link #addInPlace}(dx, scratch).
   */
  void rmsnormBackward(Tensor dx, Tensor dw, Tensor dOut, Tensor x, Tensor w, Tensor rstd, boolean accumulateDx);

  /**
   * The residual add fused with the norm after it: y = x + delta (the next residual, written out), out = y · rstd · w,
   * rstd [N] — one pass over the rows instead of copy, add and norm, with the same roundings as
   * {@link #copy}(y, x), {@link #addInPlace}(y, delta), {@link #rmsnormForward}(out, rstd, y, w, eps), so the result
   * is bit-identical to those three calls. y, out, x, delta [N, D]; w [D]; y may be x itself.
   */
  void residualRmsnormForward(Tensor y, Tensor out, Tensor rstd, Tensor x, Tensor delta, Tensor w, double eps);

  /** out = x · wᵀ + bias.  out [T, O], x [T, I], w [O, I] (HF layout), bias [O] or null. */
  void linearForward(Tensor out, Tensor x, Tensor w, Tensor bias);

  /**
   * dx = dOut · w (overwritten; skipped when dx is null), dw += dOutᵀ · x (skipped when dw is null:
   * a frozen weight), dBias += Σ_t dOut (skipped when null).
   */
  void linearBackward(Tensor dx, Tensor dw, Tensor dBias, Tensor dOut, Tensor x, Tensor w);

  /**
   * LoRA's low-rank path beside a frozen linear (see {@code native/include/rewardkit/lora.h}):
   * u = x · aᵀ (overwritten, kept for backward), out += scale · u · bᵀ (out holds the base linear's result).
   * out [T, O], u [T, r], x [T, I], a [r, I] (PEFT lora_A), b [O, r] (PEFT lora_B).
   */
  default void loraForward(Tensor out, Tensor u, Tensor x, Tensor a, Tensor b, double scale) {
    throw new UnsupportedOperationException("LoRA is not implemented on the " + name() + " backend");
  }

  /**
   * The gradient of {@link #loraForward}: du = scale · dOut · b (scratch [T, r], overwritten),
   * db += scale · dOutᵀ · u, da += duᵀ · x, dx += du · a (ACCUMULATED onto the base linear's dx;
   * skipped when dx is null).
   */
  default void loraBackward(Tensor dx, Tensor da, Tensor db, Tensor du, Tensor dOut, Tensor x, Tensor u, Tensor a, Tensor b,
      double scale) {
    throw new UnsupportedOperationException("LoRA is not implemented on the " + name() + " backend");
  }

  /**
   * Rotary embedding in place, HF {@code rotate_half} convention: for i < hd/2,
   * (x_i, x_{i+hd/2}) ← (x_i c − x_{i+hd/2} s, x_{i+hd/2} c + x_i s) with c = cos[pos, i], s = sin[pos, i].
   * x [T, H, hd]; positions I32 [T]; cos, sin [maxPos, hd/2].
   */
  void ropeForward(Tensor x, Tensor positions, Tensor cos, Tensor sin);

  /** The transpose of {@link #ropeForward} applied in place to a gradient [T, H, hd]. */
  void ropeBackward(Tensor dx, Tensor positions, Tensor cos, Tensor sin);

  /**
   * Causal varlen attention with GQA and the shared-prefix segment rule (see {@link VarlenLayout}).
   * out [T, Hq, hd]; lse [Hq, T] (log-sum-exp of the scaled scores, saved for backward; F32, or F64 when q is F64);
   * q [T, Hq, hd]; k, v [T, Hkv, hd] with Hq % Hkv == 0.
   */
  void attentionForward(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, VarlenLayout layout, double scale);

  /** dq [T, Hq, hd], dk, dv [T, Hkv, hd], all overwritten. */
  void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOut, Tensor q, Tensor k, Tensor v,
      Tensor out, Tensor lse, VarlenLayout layout, double scale);

  /** out = silu(gate) * up, all [T, F]. */
  void swigluForward(Tensor out, Tensor gate, Tensor up);

  /** dGate, dUp [T, F] overwritten. */
  void swigluBackward(Tensor dGate, Tensor dUp, Tensor dOut, Tensor gate, Tensor up);

  /**
   * out = the dequantised NF4 weight (bitsandbytes' dequantize_4bit), in out's dtype: F32 (or F64) on CPU,
   * BF16 on CUDA. out has w's element count.
   */
  void nf4Dequantize(Tensor out, Nf4Weight w);

  /** acc += x, same shape (residual connections and gradient sums). */
  void addInPlace(Tensor acc, Tensor x);

  /**
   * out = a + b, same shape and dtype (a residual into a new buffer: one pass instead of {@link #copy} and
   * {@link #addInPlace}, with the same rounding). out may be a or b.
   */
  void add(Tensor out, Tensor a, Tensor b);

  /** rewards[r] = hidden[readout[r], :] · w.  rewards [R], hidden [T, D], readout I32 [R], w [D] (score.weight row). */
  void scoreForward(Tensor rewards, Tensor hidden, Tensor readout, Tensor w);

  /** dHidden [T, D] overwritten (zero except readout rows); dw [D] accumulated. */
  void scoreBackward(Tensor dHidden, Tensor dw, Tensor dRewards, Tensor hidden, Tensor readout, Tensor w);

  /**
   * Policy head (see {@code native/include/rewardkit/linear_cross_entropy.h}): logp[t] = log softmax(hidden[t] · wᵀ)[targets[t]]
   * without materialising the [T, V] logits; lse[t] is the log-sum-exp, saved for backward. A negative target
   * is ignored (logp = lse = 0). logp, lse F32 [T] (F64 on CPU with F64 inputs); hidden [T, D]; w [V, D]
   * (lm_head.weight or the tied embed_tokens.weight); targets I32 [T].
   */
  void linearCrossEntropyForward(Tensor logp, Tensor lse, Tensor hidden, Tensor w, Tensor targets);

  /**
   * dHidden [T, D] overwritten (zero for ignored tokens); dw [V, D] accumulated, or null for a frozen head (LoRA
   * policies; CPU backend only so far); dLogp, lse [T] as the forward's.
   */
  void linearCrossEntropyBackward(Tensor dHidden, Tensor dw, Tensor dLogp, Tensor lse, Tensor hidden, Tensor w,
      Tensor targets);

  @Override
  void close();

  // ---- training ops (fused loss, optimizer, gradient norm) ------------------------------------
  // Every backend implements all three: the trainer is backend-agnostic and needs them.

  /**
   * Loss configuration of {@link #rewardLoss}. lossType: {@link #RANKING} or {@link #FOCAL};
   * penaltyType: {@link #NO_PENALTY}, {@link #LOG_BARRIER} (bounds lower/upper) or {@link #L2}.
   */
  record RewardLossSpec(int lossType, double gamma, int penaltyType, double penaltyWeight,
      double lower, double upper, double centerCoef) {
    public static final int RANKING = 0, FOCAL = 1;
    public static final int NO_PENALTY = 0, LOG_BARRIER = 1, L2 = 2;
    /** Indices into the stats array {@link #rewardLoss} returns. */
    public static final int LOSS = 0, PAIR_LOSS = 1, PENALTY = 2, CENTER = 3, ACCURACY = 4, MARGIN = 5,
        MIN_REWARD = 6, MEAN_REWARD = 7, MAX_REWARD = 8, CHOSEN_MEAN = 9, REJECTED_MEAN = 10, NUM_STATS = 11;

    public static RewardLossSpec ranking() { return new RewardLossSpec(RANKING, 2.0, NO_PENALTY, 0, -5, 5, 0); }
  }

  /**
   * The fused reward loss of a batch (see {@code native/include/rewardkit/reward_loss.h}): the batch-mean
   * loss and its statistics (host array indexed by the {@link RewardLossSpec} constants), and, when
   * dRewards is not null, dRewards = gradScale · ∂loss/∂rewards (overwritten).
   * rewards, dRewards [R]; chosen, rejected I32 [P]; margins [P] or null.
   */
  double[] rewardLoss(Tensor rewards, Tensor chosen, Tensor rejected, Tensor margins, Tensor dRewards,
      RewardLossSpec spec, double gradScale);

  /**
   * The fused preference loss of a batch (DPO, IPO, CPO, SimPO, ORPO, KTO; see
   * {@code native/include/rewardkit/preference_loss.h}): the loss and TRL's metrics (host array indexed by the
   * {@link PreferenceLossSpec} constants); when {@code in.dLogps()} is not null it is overwritten with
   * gradScale · ∂loss/∂logps (and {@code in.dPromptLogps()} with ∂loss/∂promptLogps, ORPO).
   */
  double[] preferenceLoss(PreferenceLossInputs in, PreferenceLossSpec spec, double gradScale);

  /**
   * The hyper-parameters of one AdamW call (native {@code rk::AdamWParams}, checked by its {@code validate()} on
   * both backends). step counts from 1 (bias correction); gradScale multiplies the gradient first (clipping).
   */
  record AdamWStep(double lr, double beta1, double beta2, double eps, double weightDecay, long step, double gradScale) {
    /** 1 - beta1^step, formed in double on the host (the kernels round the derived scalars to float once). */
    public double biasCorrection1() { return 1 - Math.pow(beta1, step); }

    public double biasCorrection2() { return 1 - Math.pow(beta2, step); }
  }

  /**
   * One fused AdamW step over one optimizer group's arenas (PyTorch formulation, decoupled weight decay, see
   * {@code native/include/rewardkit/adamw.h}; the CPU loop and the CUDA kernel run the same element update,
   * {@code adamw_math.h}): F32 master weights and fp32 moments m, v updated in place. weights is the span the
   * model computes with: the master itself when it is F32 (CPU), otherwise a lower-precision working copy (BF16
   * on CUDA) that receives the rounded update. grad is the gradient span as the backend accumulates it (F32 on
   * CPU and CUDA). All tensors the same size. The optimizer makes one such call per group per step.
   */
  void adamwUpdate(Tensor master, Tensor weights, Tensor grad, Tensor m, Tensor v, AdamWStep step);

  /**
   * The fp32 master copy an optimizer updates for a weight span (one optimizer group): the span itself when it
   * is F32, otherwise a new F32 tensor on this device holding its values (BF16 to F32 is exact), which lives as
   * long as the optimizer's state (the CUDA backend converts on the device into its optimizer-state arena).
   */
  default Tensor masterWeights(Tensor weights) {
    if (weights.dtype() == DType.F32) return weights;
    Tensor master = allocate(DType.F32, weights.shape());  // master [same as weights]
    upload(master, downloadFloats(weights));
    return master;
  }

  /**
   * Σ g² over a gradient tensor: the optimizer passes its whole gradient arena, so this is the one global-norm
   * reduction (and, on a device, the one host sync) of a step. Accumulated in double, deterministic for any
   * thread count; NaN/Inf propagate.
   */
  double gradSumSquares(Tensor grad);
}
