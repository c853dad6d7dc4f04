package io.rewardkit.model;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.RopeTables;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.kernels.VarlenLayout;
import io.rewardkit.model.safetensors.StDType;
import io.rewardkit.kernels.Nf4Weight;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * A decoder-only transformer (Llama / Qwen2 / Qwen3 / Mistral) with a scalar score head: the
 * reward of a response is {@code score.weight · norm(h_L)} at its readout token. This is HF's
 * {@code <Family>ForSequenceClassification} with one label, and checkpoints round-trip with it.
 *
 * <p>Per layer: {@code x → input_layernorm → q/k/v proj (+bias) → [qwen3: per-head q_norm/k_norm]
 * → rope → varlen causal GQA attention (shared-prefix segments) → o_proj → +x →
 * post_attention_layernorm → gate/up → swiglu → down → +}. After the last layer, {@code model.norm}
 * then the score head at the readout rows. There is no dropout.
 *
 * <p>Usage by a trainer: {@link #zeroGrad()}, then per micro-batch {@link #forward} and
 * {@link #backward} (grads accumulate), then an optimizer step over {@link #weights()} /
 * {@link #grads()} (flat arenas; per-parameter views and weight-decay flags in
 * {@link #parameters()}). {@link #score} is the inference path. Activation buffers are sized by the
 * largest batch seen and reused, so steady-state steps allocate nothing. Not thread-safe.
 */
public final class RewardModel implements AutoCloseable {
  /** Default shard size for {@link #saveHf(Path)}: HF's default {@code max_shard_size} of 5 GB. */
  public static final long DEFAULT_SHARD_BYTES = 5_000_000_000L;

  private final ModelConfig cfg;
  private final Backend be;
  private final DType dtype;
  private final ModelParameters params;
  private final EmbeddingBlock embedding;
  private final DecoderLayerBlock[] layers;
  private final ScoreHeadBlock head;
  private final LinearPath lin;    // base linears + the LoRA hook; frozen-base gradient rules

  private Activations train;       // training buffers (all layers kept, or layer inputs only), grown on demand
  private boolean checkpointing;   // keep layer inputs only; backward recomputes each layer
  private Activations infer;       // inference buffers (one layer kept)
  private Tensor cos;              // [ropeLen, hd/2]
  private Tensor sin;              // [ropeLen, hd/2]
  private int ropeLen;

  // state of the last training forward, for backward
  private int lastT = -1;
  private int lastR;
  private VarlenLayout lastLayout;

  /** {@code trainBase} false: a frozen base (LoRA), only the score head has gradients. */
  RewardModel(ModelConfig cfg, Backend be, DType dtype, String source, boolean trainBase) {
    this(cfg, be, dtype, source, trainBase, Set.of());
  }

  /** As above; the decoder linears of {@code nf4} (frozen base only) are stored NF4 by the loader (QLoRA). */
  RewardModel(ModelConfig cfg, Backend be, DType dtype, String source, boolean trainBase, Set<LinearModule> nf4) {
    if (!dtype.isFloating()) throw new IllegalArgumentException("model dtype must be floating, got " + dtype);
    cfg.requireSupportedBy(be, source);  // before any weight is allocated on the device
    this.cfg = cfg;
    this.be = be;
    this.dtype = dtype;
    this.params = new ModelParameters(cfg, be, dtype, trainBase, nf4);
    this.lin = new LinearPath(cfg, be, dtype, trainBase, params);
    this.embedding = new EmbeddingBlock(cfg, be, params.embed);
    this.layers = new DecoderLayerBlock[cfg.numHiddenLayers()];
    for (int l = 0; l < layers.length; l++) layers[l] = new DecoderLayerBlock(cfg, be, params.layers[l], l, lin);
    this.head = new ScoreHeadBlock(cfg, be, params.finalNorm, params.score, lin);
  }

  // ---- construction ---------------------------------------------------------------------------

  /** A freshly initialised model in the backend's compute dtype (see {@link #randomInit(ModelConfig, Backend, DType, long)}). */
  public static RewardModel randomInit(ModelConfig cfg, Backend backend, long seed) {
    return randomInit(cfg, backend, backend.computeType(), seed);
  }

  /**
   * A freshly initialised model: weight matrices, embedding and score ~ N(0, initializer_range²),
   * norm weights 1, biases 0 (HF's {@code _init_weights}). Each parameter draws from its own
   * stream seeded by {@code seed} and its name, so the values do not depend on parameter order.
   * {@code dtype} F64 is for gradient checks on the CPU backend.
   */
  public static RewardModel randomInit(ModelConfig cfg, Backend backend, DType dtype, long seed) {
    return randomInit(cfg, backend, dtype, seed, "model config");
  }

  /** As above; {@code source} names the config in errors (e.g. the --init_config file). */
  public static RewardModel randomInit(ModelConfig cfg, Backend backend, DType dtype, long seed, String source) {
    return randomInit(cfg, backend, dtype, seed, source, true);
  }

  /** As above; {@code trainBase} false freezes everything but the score head (LoRA: see {@link #setLinearHook}). */
  public static RewardModel randomInit(ModelConfig cfg, Backend backend, DType dtype, long seed, String source, boolean trainBase) {
    RewardModel m = new RewardModel(cfg, backend, dtype, source, trainBase);
    new ParameterInit(backend, dtype).initAll(cfg, m.params, seed);
    return m;
  }

  /** Loads an HF checkpoint directory in the backend's compute dtype; a fresh score head uses seed 0. */
  public static RewardModel fromPretrained(Path hfDir, Backend backend) {
    return fromPretrained(hfDir, backend, backend.computeType(), 0L);
  }

  /**
   * Loads {@code config.json} and safetensors weights from an HF directory. A
   * {@code *ForSequenceClassification} checkpoint (one label) loads its {@code score.weight}; a
   * causal-LM checkpoint has its {@code lm_head.weight} ignored and gets a fresh
   * {@code score.weight} ~ N(0, 1/(hidden+1)) drawn with {@code seed}. Any other tensor the model
   * does not have, or any tensor it needs that is absent or has another shape, is an error naming
   * it. Values are converted from F32/BF16/F16 to {@code dtype}.
   */
  public static RewardModel fromPretrained(Path hfDir, Backend backend, DType dtype, long seed) {
    return fromPretrained(hfDir, backend, dtype, seed, true);
  }

  /** As above; {@code trainBase} false freezes everything but the score head (LoRA: see {@link #setLinearHook}). */
  public static RewardModel fromPretrained(Path hfDir, Backend backend, DType dtype, long seed, boolean trainBase) {
    return HfCheckpoint.load(hfDir, backend, dtype, seed, trainBase);
  }

  /**
   * QLoRA's base ({@code --load_in_4bit}): every decoder linear (q/k/v/o/gate/up/down_proj) of the HF
   * checkpoint is quantised to NF4 with double quantisation as it is read, one tensor at a time, so its
   * dense copy never exists in full; embeddings, norms, biases and the score head stay in {@code dtype}.
   * The base is frozen (LoRA adapters train on it through {@link #setLinearHook}).
   */
  public static RewardModel fromPretrained4bit(Path hfDir, Backend backend, DType dtype, long seed) {
    return HfCheckpoint.load(hfDir, backend, dtype, seed, false, EnumSet.allOf(LinearModule.class));
  }

  ModelParameters params() { return params; }

  /** The NF4 weight of a decoder linear, or null where it is dense. */
  public Nf4Weight nf4Weight(int layer, LinearModule m) { return params.nf4[layer][m.ordinal()]; }

  /** Whether decoder linears are stored NF4 (QLoRA). */
  public boolean hasNf4Base() { return !params.nf4Modules.isEmpty(); }

  /** Bytes of the NF4 weights and the shared dequantisation scratch. */
  public long nf4Bytes() {
    long n = lin.nf4ScratchBytes();
    for (Nf4Weight[] row : params.nf4) for (Nf4Weight w : row) if (w != null) n += w.bytes();
    return n;
  }

  // ---- accessors ------------------------------------------------------------------------------

  public ModelConfig config() { return cfg; }

  public Backend backend() { return be; }

  /** The dtype of weights, grads and activations. */
  public DType dtype() { return dtype; }

  /**
   * Every parameter, in a stable order (embedding, layers in HF module order, final norm, score); NF4-stored
   * linears ({@link #nf4Weight}) are not among them.
   */
  public List<Parameter> parameters() { return params.all; }

  /** All weights as one flat tensor; each {@link Parameter#weight()} is a view of it. */
  public Tensor weights() { return params.weights; }

  /** All gradients as one flat tensor, laid out like {@link #weights()}. */
  public Tensor grads() { return params.grads; }

  /** Number of trainable scalars (without arena padding). */
  public long numParameters() { return params.count(); }

  /** Sets every gradient to zero (start of an accumulation window). */
  public void zeroGrad() { be.zero(params.grads); }

  /** Whether the base weights have gradients (false: frozen, only the score head trains here). */
  public boolean trainsBase() { return lin.trainsBase(); }

  /**
   * Installs what runs beside every decoder linear (LoRA adapters; null removes it). The model
   * closes an {@link AutoCloseable} hook with itself.
   */
  public void setLinearHook(LinearHook hook) { lin.hook = hook; }

  public LinearHook linearHook() { return lin.hook; }

  /** The score head ({@code score.weight} [1, D]). */
  public Parameter scoreHead() { return params.score; }

  /**
   * Moves the score head into {@code weight}/{@code grad} [1, D] (views of a LoRA arena, so that one
   * arena optimizer covers adapters and head), copying its value there. Frozen-base models only.
   */
  public void moveScoreHead(Tensor weight, Tensor grad) {
    if (trainsBase()) throw new IllegalStateException("the score head moves only with a frozen base");
    be.copy(weight, params.score.weight());
    params.rebindScore(weight, grad);
    head.rebind(params.score);
  }

  /** Moves the score head back into the model's own arena (its current value copied), e.g. before the LoRA arena is freed. */
  public void restoreScoreHead() {
    if (params.score == params.scoreHome) return;
    be.copy(params.scoreHome.weight(), params.score.weight());
    params.rebindScore(params.scoreHome.weight(), params.scoreHome.grad());
    params.score = params.scoreHome;
    head.rebind(params.score);
  }

  // ---- forward / backward ---------------------------------------------------------------------

  /**
   * Allocates the training activation buffers for batches of up to {@code maxTokens} packed tokens
   * now (e.g. the trainer's token budget), so no step allocates. Without it, buffers are sized by
   * the largest batch seen so far.
   */
  public void reserve(int maxTokens) {
    if (maxTokens <= 0) throw new IllegalArgumentException("maxTokens must be > 0, got " + maxTokens);
    if (train == null || train.capT < maxTokens) {
      if (train != null) train.close();
      train = new Activations(cfg, be, dtype, maxTokens, true, checkpointing);
      lastT = -1;
    }
  }

  /**
   * Gradient checkpointing (--gradient_checkpointing): training keeps only each decoder layer's input and
   * one layer's internals; backward recomputes each layer from its input first. Gradients are the same
   * bits. Switching frees the training buffers (and drops a pending backward).
   */
  public void setGradientCheckpointing(boolean on) {
    if (on == checkpointing) return;
    checkpointing = on;
    if (train != null) {
      int cap = train.capT;
      train.close();
      train = null;
      reserve(cap);
    }
  }

  public boolean gradientCheckpointing() { return checkpointing; }

  /**
   * Training forward: the reward at each readout of {@code batch}, as a tensor [R] on the device
   * (valid until the next forward). Keeps the activations {@link #backward} needs.
   */
  public Tensor forward(PackedBatch batch) {
    int t = batch.numTokens();
    if (train == null || train.capT < t) reserve(t);
    VarlenLayout layout = upload(train, batch);
    Tensor rewards = run(train, batch, layout);
    lastT = t;
    lastR = batch.numReadouts();
    lastLayout = layout;
    return rewards;
  }

  /**
   * Inference: the rewards of {@code batch} on the host. Keeps one layer of activations at a time
   * and does not disturb a pending {@link #backward}.
   */
  public float[] score(PackedBatch batch) {
    int t = batch.numTokens();
    if (infer == null || infer.capT < t) {
      if (infer != null) infer.close();
      infer = new Activations(cfg, be, dtype, t, false);
    }
    VarlenLayout layout = upload(infer, batch);
    Tensor rewards = run(infer, batch, layout);
    return be.downloadFloats(rewards);
  }

  /**
   * Uploads the batch's index arrays once. The batch's structure was checked when it was built
   * ({@link PackedBatch}); what is left is whether it fits this model: token ids inside the vocabulary
   * and positions inside max_position_embeddings (the kernels index tables with them).
   */
  private VarlenLayout upload(Activations a, PackedBatch b) {
    int t = b.numTokens(), s = b.numSequences(), r = b.numReadouts();
    if (t == 0) throw new IllegalArgumentException("empty batch");
    int maxPos = 0;
    for (int i = 0; i < t; i++) {
      int tok = b.tokens()[i];
      if (tok < 0 || tok >= cfg.vocabSize()) {
        throw new IllegalArgumentException("token " + tok + " at packed index " + i + " outside vocab of " + cfg.vocabSize());
      }
      int p = b.positions()[i];
      if (p >= cfg.maxPositionEmbeddings()) {
        throw new IllegalArgumentException("position " + p + " at packed index " + i + " outside [0, "
            + cfg.maxPositionEmbeddings() + ") (max_position_embeddings)");
      }
      maxPos = Math.max(maxPos, p);
    }
    ensureRope(maxPos + 1);
    be.upload(a.ids.view(0, t), b.tokens());
    be.upload(a.positions.view(0, t), b.positions());
    be.upload(a.cuSeqlens.view(0, s + 1), b.cuSeqlens());
    Tensor seg = null;
    if (b.segmentIds() != null) {
      seg = a.segments.view(0, t);
      be.upload(seg, b.segmentIds());
    }
    if (r > 0) be.upload(a.readout.view(0, r), b.readout());
    return new VarlenLayout(a.cuSeqlens.view(0, s + 1), seg, s, t, b.maxSeqlen());
  }

  /** Rotary tables covering positions [0, needed), grown in powers of two up to max_position_embeddings. */
  private void ensureRope(int needed) {
    if (cos != null && ropeLen >= needed) return;
    int len = Integer.highestOneBit(Math.max(needed, 256) - 1) << 1;
    len = Math.min(Math.max(len, needed), cfg.maxPositionEmbeddings());
    ModelConfig.RopeScaling rs = cfg.ropeScaling();
    RopeTables.Llama3Scaling scaling = rs == null ? null
        : new RopeTables.Llama3Scaling(rs.factor(), rs.lowFreqFactor(), rs.highFreqFactor(), rs.originalMaxPositionEmbeddings());
    RopeTables.Uploaded tables = RopeTables.build(cfg.headDim(), cfg.ropeTheta(), len, scaling).upload(be, dtype);
    if (cos != null) {
      cos.close();
      sin.close();
    }
    cos = tables.cos();
    sin = tables.sin();
    ropeLen = len;
  }

  /** The forward pass over the uploaded batch; returns rewards [R]. */
  private Tensor run(Activations a, PackedBatch b, VarlenLayout layout) {
    int t = b.numTokens();
    embedding.forward(a, t);
    for (DecoderLayerBlock layer : layers) layer.forward(a, t, layout, cos, sin);
    return head.forward(a, t, b.numReadouts());
  }

  /**
   * Accumulates into the parameter grads the gradient of {@code Σ dRewards · rewards} for the last
   * {@link #forward}. {@code dRewards} is [R] in the rewards' dtype (F32, or F64 for an F64 model) on the
   * backend's device.
   */
  public void backward(Tensor dRewards) {
    if (lastT < 0) throw new IllegalStateException("backward without a forward");
    int t = lastT, r = lastR;
    DType rewardType = train.rewards.dtype();
    if (dRewards.numel() != r || dRewards.dtype() != rewardType) {
      throw new IllegalArgumentException("dRewards must be " + rewardType + "[" + r + "], got " + dRewards);
    }
    head.backward(train, t, r, dRewards);
    backwardLayers(t);
  }

  /**
   * Training forward for a head other than the score head (a policy's LM head): the final normed hidden states
   * [T, D] of {@code batch} (valid until the next forward); {@link #backwardNormed} takes their gradient.
   */
  public Tensor forwardNormed(PackedBatch batch) {
    forward(batch);
    return Activations.rows(train.xNorm, lastT, cfg.hiddenSize());
  }

  /**
   * Accumulates into the parameter grads (not the score head's) the gradient of the last forward given
   * {@code dXNorm} [T, D] = dLoss/d(final normed hidden states); dXNorm must not be a buffer of this model.
   */
  public void backwardNormed(Tensor dXNorm) {
    if (lastT < 0) throw new IllegalStateException("backward without a forward");
    long d = cfg.hiddenSize();
    if (dXNorm.numel() != (long) lastT * d) {
      throw new IllegalArgumentException("dXNorm must be [" + lastT + ", " + d + "], got " + dXNorm);
    }
    head.backwardNormed(train, lastT, dXNorm.reshape(lastT, d));
    backwardLayers(lastT);
  }

  /** From dres [T, D] = dL/dx(L): the layers, then the embedding. */
  private void backwardLayers(int t) {
    for (int l = layers.length - 1; l >= 0; l--) {
      if (checkpointing) layers[l].recompute(train, t, lastLayout, cos, sin);
      layers[l].backward(train, t, lastLayout, cos, sin);
    }
    embedding.backward(train, t);
  }

  // ---- saving ---------------------------------------------------------------------------------

  /** {@link #saveHf(Path, StDType, long)} in F32, or BF16 when the model computes in BF16; 5 GB shards. */
  public void saveHf(Path dir) {
    saveHf(dir, dtype == DType.BF16 ? StDType.BF16 : StDType.F32, DEFAULT_SHARD_BYTES);
  }

  /**
   * Writes an HF {@code <Family>ForSequenceClassification} checkpoint: {@code config.json} and
   * {@code model.safetensors} (or shards of at most {@code shardBytes} plus the index). The
   * directory is written with {@link io.rewardkit.io.AtomicFiles#writeDirectory}, so readers see
   * either the old checkpoint or the complete new one.
   */
  public void saveHf(Path dir, StDType storeAs, long shardBytes) {
    if (hasNf4Base()) {
      throw new IllegalStateException("a model with a 4-bit base is not saved as a checkpoint: save its adapter, or merge it"
          + " onto the original base weights");
    }
    HfCheckpoint.save(this, dir, storeAs, shardBytes);
  }

  /** Bytes of activation buffers currently held (training + inference). */
  public long activationBytes() {
    return (train == null ? 0 : train.bytes()) + (infer == null ? 0 : infer.bytes());
  }

  /** Frees weights, grads and buffers now. */
  @Override
  public void close() {
    if (train != null) train.close();
    if (infer != null) infer.close();
    if (cos != null) cos.close();
    if (sin != null) sin.close();
    params.weights.close();
    params.grads.close();
    params.closeNf4();
    lin.close();
  }
}
