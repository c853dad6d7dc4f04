package io.rewardkit.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.RopeTables;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.kernels.VarlenLayout;
import io.rewardkit.model.safetensors.SafetensorsCheckpoint;
import io.rewardkit.model.safetensors.SafetensorsFile;
import io.rewardkit.model.safetensors.SafetensorsWriter;
import io.rewardkit.model.safetensors.StDType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;

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
  private final double scale;      // 1/sqrt(hd)

  private Activations train;       // training buffers (all layers kept), grown on demand
  private Activations infer;       // inference buffers (one layer kept)
  private Tensor cos;              // [ropeLen, hd/2]
  private Tensor sin;              // [ropeLen, hd/2]
  private int ropeLen;

  // state of the last training forward, for backward
  private int lastT = -1;
  private int lastR;
  private VarlenLayout lastLayout;

  private LinearHook hook;          // runs beside the linear modules (LoRA), or null
  private Tensor normScratch;       // [max(D, hd)] sink for the frozen norms' weight grads

  private RewardModel(ModelConfig cfg, Backend be, DType dtype, String source, boolean trainBase) {
    if (!dtype.isFloating()) throw new IllegalArgumentException("model dtype must be floating, got " + dtype);
    cfg.requireSupportedBy(be, source);  // before any weight is allocated on the device
    this.cfg = cfg;
    this.be = be;
    this.dtype = dtype;
    this.params = new ModelParameters(cfg, be, dtype, trainBase);
    this.scale = 1.0 / Math.sqrt(cfg.headDim());
    if (!trainBase) normScratch = be.allocate(dtype == DType.F64 ? DType.F64 : DType.F32, Math.max(cfg.hiddenSize(), cfg.headDim()));
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
    List<ModelParameters.Spec> specs = ModelParameters.specs(cfg);
    for (int i = 0; i < specs.size(); i++) {
      ModelParameters.Spec s = specs.get(i);
      Parameter p = m.params.all.get(i);
      switch (s.kind()) {
        case MATRIX, SCORE -> m.fillNormal(p, cfg.initializerRange(), seed);
        case NORM -> m.fillConstant(p, 1.0);
        case BIAS -> m.fillConstant(p, 0.0);
      }
    }
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
    ModelConfig cfg = ModelConfig.load(hfDir);
    boolean seqCls = architectures(cfg).stream().anyMatch(a -> a.endsWith("ForSequenceClassification"));
    RewardModel m = new RewardModel(cfg, backend, dtype,
        (java.nio.file.Files.isDirectory(hfDir) ? hfDir.resolve("config.json") : hfDir).toString(), trainBase);
    try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(hfDir)) {
      Set<String> expected = new LinkedHashSet<>();
      for (Parameter p : m.params.all) expected.add(p.hfName());
      List<String> unknown = new ArrayList<>();
      for (String name : ckpt.names()) {
        if (expected.contains(name)) continue;
        // lm_head is the causal-LM head a reward model replaces; old Llama exports carry rope buffers.
        if (name.equals("lm_head.weight") || name.endsWith(".rotary_emb.inv_freq")) continue;
        unknown.add(name);
      }
      if (!unknown.isEmpty()) {
        throw new RewardKitException(hfDir + ": checkpoint has " + unknown.size() + " tensor(s) a " + cfg.family().modelType()
            + " reward model does not have: " + preview(unknown));
      }
      boolean initScore = !ckpt.has("score.weight");
      if (initScore && seqCls) {
        throw new RewardKitException(hfDir + ": config says ForSequenceClassification but tensor 'score.weight' is missing");
      }
      List<String> missing = new ArrayList<>();
      for (String name : expected) if (!ckpt.has(name) && !(initScore && name.equals("score.weight"))) missing.add(name);
      if (!missing.isEmpty()) {
        throw new RewardKitException(hfDir + ": checkpoint lacks " + missing.size() + " tensor(s): " + preview(missing));
      }
      for (Parameter p : m.params.all) {
        if (initScore && p == m.params.score) continue;
        SafetensorsFile.Entry e = ckpt.entry(p.hfName());
        if (!Arrays.equals(e.shape(), p.weight().shape())) {
          throw new RewardKitException(ckpt.file(p.hfName()).path() + ": tensor '" + p.hfName() + "' has shape "
              + Arrays.toString(e.shape()) + ", expected " + Arrays.toString(p.weight().shape()) + " for this config");
        }
        m.load(ckpt.file(p.hfName()), p);
      }
      if (initScore) m.fillNormalStd(m.params.score, 1.0 / Math.sqrt(cfg.hiddenSize() + 1.0), seed);
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
    return m;
  }

  private static List<String> architectures(ModelConfig cfg) {
    List<String> out = new ArrayList<>();
    if (cfg.rawJson() == null) return out;
    try {
      JsonNode a = new ObjectMapper().readTree(cfg.rawJson()).get("architectures");
      if (a != null && a.isArray()) a.forEach(n -> out.add(n.asText()));
    } catch (IOException e) {
      // already parsed once by ModelConfig
    }
    return out;
  }

  private static String preview(List<String> names) {
    return names.size() <= 8 ? String.join(", ", names) : String.join(", ", names.subList(0, 8)) + ", ...";
  }

  /**
   * Copies one tensor into its parameter. A NaN or infinite value is refused here, naming the file,
   * tensor and element: such a model would only show up later as a NaN loss or null scores.
   */
  private void load(SafetensorsFile file, Parameter p) {
    Tensor w = p.weight().reshape(p.numel());
    if (dtype == DType.F64) {
      file.readDoubles(p.hfName(), (off, vals, n) -> {
        for (int i = 0; i < n; i++) if (!Double.isFinite(vals[i])) throw nonFinite(file, p, off + i, vals[i]);
        be.upload(w.view(off, n), n == vals.length ? vals : Arrays.copyOf(vals, n));
      });
    } else {
      file.readFloats(p.hfName(), (off, vals, n) -> {
        for (int i = 0; i < n; i++) if (!Float.isFinite(vals[i])) throw nonFinite(file, p, off + i, vals[i]);
        be.upload(w.view(off, n), n == vals.length ? vals : Arrays.copyOf(vals, n));
      });
    }
  }

  private static RewardKitException nonFinite(SafetensorsFile file, Parameter p, long index, double value) {
    return new RewardKitException(file.path() + ": tensor '" + p.hfName() + "' has a non-finite value (" + value
        + ") at element " + index + "; the model is broken (a diverged or damaged save?)");
  }

  private static final int INIT_CHUNK = 1 << 20;

  private void fillNormal(Parameter p, double std, long seed) { fillNormalStd(p, std, seed); }

  /** N(0, std²) values from a stream keyed by (seed, parameter name). */
  private void fillNormalStd(Parameter p, double std, long seed) {
    SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + p.hfName().hashCode());
    Tensor w = p.weight().reshape(p.numel());
    long total = p.numel();
    for (long start = 0; start < total; start += INIT_CHUNK) {
      int n = (int) Math.min(INIT_CHUNK, total - start);
      double[] vals = new double[n];
      for (int i = 0; i < n; i++) vals[i] = rng.nextGaussian() * std;
      uploadDoubles(w.view(start, n), vals);
    }
  }

  private void fillConstant(Parameter p, double value) {
    double[] vals = new double[Math.toIntExact(p.numel())];
    Arrays.fill(vals, value);
    uploadDoubles(p.weight(), vals);
  }

  private void uploadDoubles(Tensor dst, double[] vals) {
    if (dtype == DType.F64) {
      be.upload(dst, vals);
    } else {
      float[] f = new float[vals.length];
      for (int i = 0; i < f.length; i++) f[i] = (float) vals[i];
      be.upload(dst, f);
    }
  }

  // ---- accessors ------------------------------------------------------------------------------

  public ModelConfig config() { return cfg; }

  public Backend backend() { return be; }

  /** The dtype of weights, grads and activations. */
  public DType dtype() { return dtype; }

  /** Every parameter, in a stable order (embedding, layers in HF module order, final norm, score). */
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
  public boolean trainsBase() { return normScratch == null; }

  /**
   * Installs what runs beside every decoder linear (LoRA adapters; null removes it). The model
   * closes an {@link AutoCloseable} hook with itself.
   */
  public void setLinearHook(LinearHook hook) { this.hook = hook; }

  public LinearHook linearHook() { return hook; }

  /** The score head ({@code score.weight} [1, D]). */
  public Parameter scoreHead() { return params.score; }

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
      train = new Activations(cfg, be, dtype, maxTokens, true);
      lastT = -1;
    }
  }

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

  /** Validates the batch on the host and uploads its index arrays once. */
  private VarlenLayout upload(Activations a, PackedBatch b) {
    int t = b.numTokens(), s = b.numSequences(), r = b.numReadouts();
    if (t == 0) throw new IllegalArgumentException("empty batch");
    if (b.positions().length != t) throw new IllegalArgumentException("positions has " + b.positions().length + " entries, tokens " + t);
    if (b.cuSeqlens().length < 2 || b.cuSeqlens()[0] != 0 || b.cuSeqlens()[s] != t) {
      throw new IllegalArgumentException("cuSeqlens must run from 0 to T=" + t + ", got " + Arrays.toString(b.cuSeqlens()));
    }
    int maxLen = 0;
    for (int i = 0; i < s; i++) {
      int len = b.cuSeqlens()[i + 1] - b.cuSeqlens()[i];
      if (len <= 0) throw new IllegalArgumentException("cuSeqlens not increasing at sequence " + i);
      maxLen = Math.max(maxLen, len);
    }
    int maxPos = 0;
    for (int i = 0; i < t; i++) {
      int tok = b.tokens()[i];
      if (tok < 0 || tok >= cfg.vocabSize()) {
        throw new IllegalArgumentException("token " + tok + " at packed index " + i + " outside vocab of " + cfg.vocabSize());
      }
      int p = b.positions()[i];
      if (p < 0 || p >= cfg.maxPositionEmbeddings()) {
        throw new IllegalArgumentException("position " + p + " at packed index " + i + " outside [0, "
            + cfg.maxPositionEmbeddings() + ") (max_position_embeddings)");
      }
      maxPos = Math.max(maxPos, p);
    }
    for (int i = 0; i < r; i++) {
      if (b.readout()[i] < 0 || b.readout()[i] >= t) throw new IllegalArgumentException("readout " + b.readout()[i] + " outside [0, " + t + ")");
    }
    if (b.segmentIds() != null && b.segmentIds().length != t) {
      throw new IllegalArgumentException("segmentIds has " + b.segmentIds().length + " entries, tokens " + t);
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
    return new VarlenLayout(a.cuSeqlens.view(0, s + 1), seg, s, t, Math.max(maxLen, b.maxSeqlen()));
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
    int t = b.numTokens(), r = b.numReadouts();
    long d = cfg.hiddenSize(), f = cfg.intermediateSize(), hd = cfg.headDim();
    int hq = cfg.numAttentionHeads(), hkv = cfg.numKeyValueHeads();
    double eps = cfg.rmsNormEps();
    Tensor ids = a.ids.view(0, t);
    Tensor pos = a.positions.view(0, t);
    Tensor ln = Activations.rows(a.ln, t, d);
    Tensor h = Activations.rows(a.h, t, f);
    Tensor tmp = Activations.rows(a.tmpD, t, d);

    be.embeddingForward(Activations.rows(a.x(0), t, d), ids, params.embed.weight());
    for (int l = 0; l < cfg.numHiddenLayers(); l++) {
      ModelParameters.Layer w = params.layers[l];
      int s = a.slot(l);
      Tensor xIn = Activations.rows(a.x(l), t, d);
      Tensor xOut = Activations.rows(a.x(l + 1), t, d);
      Tensor xMid = Activations.rows(a.xMid[s], t, d);
      Tensor q = Activations.rows(a.q[s], t, hq, hd);
      Tensor k = Activations.rows(a.k[s], t, hkv, hd);
      Tensor v = Activations.rows(a.v[s], t, hkv, hd);
      Tensor att = Activations.rows(a.att[s], t, hq, hd);

      // attention block
      be.rmsnormForward(ln, a.rstd1[s].view(0, t), xIn, w.inputNorm().weight(), eps);
      if (cfg.qkNorm()) {
        Tensor qPre = Activations.rows(a.qPre[s], t, hq * hd);
        Tensor kPre = Activations.rows(a.kPre[s], t, hkv * hd);
        linear(l, LinearModule.Q_PROJ, qPre, ln, w.q(), w.qBias(), a);
        linear(l, LinearModule.K_PROJ, kPre, ln, w.k(), w.kBias(), a);
        // per-head norm: rows (token, head), dim hd
        be.rmsnormForward(q.reshape((long) t * hq, hd), a.rstdQ[s].view(0, (long) t * hq), qPre.reshape((long) t * hq, hd),
            w.qNorm().weight(), eps);
        be.rmsnormForward(k.reshape((long) t * hkv, hd), a.rstdK[s].view(0, (long) t * hkv), kPre.reshape((long) t * hkv, hd),
            w.kNorm().weight(), eps);
      } else {
        linear(l, LinearModule.Q_PROJ, q.reshape(t, hq * hd), ln, w.q(), w.qBias(), a);
        linear(l, LinearModule.K_PROJ, k.reshape(t, hkv * hd), ln, w.k(), w.kBias(), a);
      }
      linear(l, LinearModule.V_PROJ, v.reshape(t, hkv * hd), ln, w.v(), w.vBias(), a);
      be.ropeForward(q, pos, cos, sin);
      be.ropeForward(k, pos, cos, sin);
      be.attentionForward(att, a.lse[s].view(0, hq, t), q, k, v, layout, scale);
      linear(l, LinearModule.O_PROJ, tmp, att.reshape(t, hq * hd), w.o(), w.oBias(), a);
      be.copy(xMid, xIn);
      be.addInPlace(xMid, tmp);

      // MLP block
      Tensor gate = Activations.rows(a.gate[s], t, f);
      Tensor up = Activations.rows(a.up[s], t, f);
      be.rmsnormForward(ln, a.rstd2[s].view(0, t), xMid, w.postNorm().weight(), eps);
      linear(l, LinearModule.GATE_PROJ, gate, ln, w.gate(), null, a);
      linear(l, LinearModule.UP_PROJ, up, ln, w.up(), null, a);
      be.swigluForward(h, gate, up);
      linear(l, LinearModule.DOWN_PROJ, tmp, h, w.down(), null, a);
      be.copy(xOut, xMid);
      be.addInPlace(xOut, tmp);
    }
    // Final norm over all rows (T·D, negligible) so the score kernel does the readout gather.
    Tensor xL = Activations.rows(a.x(cfg.numHiddenLayers()), t, d);
    Tensor xNorm = Activations.rows(a.xNorm, t, d);
    be.rmsnormForward(xNorm, a.rstdF.view(0, t), xL, params.finalNorm.weight(), eps);
    Tensor rewards = a.rewards.view(0, r);
    if (r > 0) be.scoreForward(rewards, xNorm, a.readout.view(0, r), params.score.weight().reshape(d));
    return rewards;
  }

  private static Tensor bias(Parameter p) { return p == null ? null : p.weight(); }

  /** out = x · Wᵀ + b, then the hook's part (LoRA) for this layer's module. */
  private void linear(int layer, LinearModule m, Tensor out, Tensor x, Parameter w, Parameter b, Activations a) {
    be.linearForward(out, x, w.weight(), bias(b));
    if (hook != null) hook.forward(layer, m, out, x, a == train);
  }

  /** dx = dOut · W (+ the hook's part); dW, dBias accumulate unless frozen (null grads). */
  private void linearBackward(int layer, LinearModule m, Tensor dx, Tensor dOut, Tensor x, Parameter w, Parameter b) {
    be.linearBackward(dx, w.grad(), biasGrad(b), dOut, x, w.weight());
    if (hook != null) hook.backward(layer, m, dx, dOut, x);
  }

  /** A norm weight's grad, or a scratch sink for a frozen one (its input gradient is still needed). */
  private Tensor normGrad(Parameter p) { return p.grad() != null ? p.grad() : normScratch.view(0, p.weight().shape()); }

  private static Tensor biasGrad(Parameter p) { return p == null ? null : p.grad(); }

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
    Activations a = train;
    long d = cfg.hiddenSize(), f = cfg.intermediateSize(), hd = cfg.headDim();
    int hq = cfg.numAttentionHeads(), hkv = cfg.numKeyValueHeads();
    double eps = cfg.rmsNormEps();
    VarlenLayout layout = lastLayout;
    Tensor pos = a.positions.view(0, t);
    Tensor ln = Activations.rows(a.ln, t, d);
    Tensor h = Activations.rows(a.h, t, f);
    Tensor dres = Activations.rows(a.dres, t, d);
    Tensor dtmp = Activations.rows(a.dtmp, t, d);
    Tensor dln = Activations.rows(a.dln, t, d);
    Tensor dq = Activations.rows(a.dq, t, hq, hd);
    Tensor dk = Activations.rows(a.dk, t, hkv, hd);
    Tensor dv = Activations.rows(a.dv, t, hkv, hd);
    Tensor datt = Activations.rows(a.datt, t, hq, hd);
    Tensor dgate = Activations.rows(a.dgate, t, f);
    Tensor dup = Activations.rows(a.dup, t, f);
    Tensor dh = Activations.rows(a.dh, t, f);

    // score head and final norm
    Tensor xL = Activations.rows(a.x(cfg.numHiddenLayers()), t, d);
    Tensor xNorm = Activations.rows(a.xNorm, t, d);
    if (r > 0) {
      be.scoreBackward(dtmp, params.score.grad().reshape(d), dRewards.reshape(r), xNorm, a.readout.view(0, r),
          params.score.weight().reshape(d));
    } else {
      be.zero(dtmp);
    }
    be.rmsnormBackward(dres, normGrad(params.finalNorm), dtmp, xL, params.finalNorm.weight(), a.rstdF.view(0, t));

    for (int l = cfg.numHiddenLayers() - 1; l >= 0; l--) {
      ModelParameters.Layer w = params.layers[l];
      int s = a.slot(l);
      Tensor xIn = Activations.rows(a.x(l), t, d);
      Tensor xMid = Activations.rows(a.xMid[s], t, d);
      Tensor q = Activations.rows(a.q[s], t, hq, hd);
      Tensor k = Activations.rows(a.k[s], t, hkv, hd);
      Tensor v = Activations.rows(a.v[s], t, hkv, hd);
      Tensor att = Activations.rows(a.att[s], t, hq, hd);
      Tensor gate = Activations.rows(a.gate[s], t, f);
      Tensor up = Activations.rows(a.up[s], t, f);

      // MLP block; dres holds dL/dxOut
      be.rmsnormForward(ln, a.rstd2[s].view(0, t), xMid, w.postNorm().weight(), eps);   // recompute
      be.swigluForward(h, gate, up);                                                   // recompute
      linearBackward(l, LinearModule.DOWN_PROJ, dh, dres, h, w.down(), null);
      be.swigluBackward(dgate, dup, dh, gate, up);
      linearBackward(l, LinearModule.GATE_PROJ, dln, dgate, ln, w.gate(), null);
      linearBackward(l, LinearModule.UP_PROJ, dtmp, dup, ln, w.up(), null);
      be.addInPlace(dln, dtmp);
      be.rmsnormBackward(dtmp, normGrad(w.postNorm()), dln, xMid, w.postNorm().weight(), a.rstd2[s].view(0, t));
      be.addInPlace(dres, dtmp);                                                        // now dL/dxMid

      // attention block
      linearBackward(l, LinearModule.O_PROJ, datt.reshape(t, hq * hd), dres, att.reshape(t, hq * hd), w.o(), w.oBias());
      be.attentionBackward(dq, dk, dv, datt, q, k, v, att, a.lse[s].view(0, hq, t), layout, scale);
      be.ropeBackward(dq, pos, cos, sin);
      be.ropeBackward(dk, pos, cos, sin);
      Tensor dqIn = dq.reshape(t, hq * hd);
      Tensor dkIn = dk.reshape(t, hkv * hd);
      if (cfg.qkNorm()) {
        Tensor dqPre = Activations.rows(a.dqPre, t, hq * hd);
        Tensor dkPre = Activations.rows(a.dkPre, t, hkv * hd);
        be.rmsnormBackward(dqPre.reshape((long) t * hq, hd), normGrad(w.qNorm()), dq.reshape((long) t * hq, hd),
            Activations.rows(a.qPre[s], (long) t * hq, hd), w.qNorm().weight(), a.rstdQ[s].view(0, (long) t * hq));
        be.rmsnormBackward(dkPre.reshape((long) t * hkv, hd), normGrad(w.kNorm()), dk.reshape((long) t * hkv, hd),
            Activations.rows(a.kPre[s], (long) t * hkv, hd), w.kNorm().weight(), a.rstdK[s].view(0, (long) t * hkv));
        dqIn = dqPre;
        dkIn = dkPre;
      }
      be.rmsnormForward(ln, a.rstd1[s].view(0, t), xIn, w.inputNorm().weight(), eps);  // recompute
      linearBackward(l, LinearModule.Q_PROJ, dln, dqIn, ln, w.q(), w.qBias());
      linearBackward(l, LinearModule.K_PROJ, dtmp, dkIn, ln, w.k(), w.kBias());
      be.addInPlace(dln, dtmp);
      linearBackward(l, LinearModule.V_PROJ, dtmp, dv.reshape(t, hkv * hd), ln, w.v(), w.vBias());
      be.addInPlace(dln, dtmp);
      be.rmsnormBackward(dtmp, normGrad(w.inputNorm()), dln, xIn, w.inputNorm().weight(), a.rstd1[s].view(0, t));
      be.addInPlace(dres, dtmp);                                                        // now dL/dxIn
    }
    if (params.embed.grad() != null) be.embeddingBackward(params.embed.grad(), dres, a.ids.view(0, t));
  }

  // ---- saving ---------------------------------------------------------------------------------

  /** {@link #saveHf(Path, StDType, long)} in F32, or BF16 when the model computes in BF16; 5 GB shards. */
  public void saveHf(Path dir) {
    saveHf(dir, dtype == DType.BF16 ? StDType.BF16 : StDType.F32, DEFAULT_SHARD_BYTES);
  }

  /**
   * Writes an HF {@code <Family>ForSequenceClassification} checkpoint: {@code config.json} and
   * {@code model.safetensors} (or shards of at most {@code shardBytes} plus the index). The
   * directory is built beside {@code dir} under a temporary name and renamed into place, so
   * readers see either the old checkpoint or the complete new one.
   */
  public void saveHf(Path dir, StDType storeAs, long shardBytes) {
    List<SafetensorsWriter.TensorSpec> specs = new ArrayList<>();
    for (Parameter p : params.all) {
      Tensor flat = p.weight().reshape(p.numel());
      specs.add(new SafetensorsWriter.TensorSpec(p.hfName(), storeAs, p.weight().shape(), (off, dst, n) -> {
        float[] vals = be.downloadFloats(flat.view(off, n));
        System.arraycopy(vals, 0, dst, 0, n);
      }));
    }
    String torchDtype = storeAs == StDType.BF16 ? "bfloat16" : "float32";
    writeDirectoryAtomically(dir, tmp -> {
      SafetensorsCheckpoint.write(tmp, specs, shardBytes);
      SafetensorsCheckpoint.writeTextAtomically(tmp.resolve("config.json"), cfg.toSequenceClassificationJsonText(torchDtype));
    });
  }

  interface DirWriter { void write(Path tmp) throws IOException; }

  /**
   * Fills a fresh sibling directory, then renames it to {@code dir}. An existing {@code dir} is
   * first renamed aside and deleted after the swap (POSIX cannot rename over a non-empty directory).
   */
  static void writeDirectoryAtomically(Path dir, DirWriter writer) {
    Path abs = dir.toAbsolutePath();
    Path parent = abs.getParent();
    String base = abs.getFileName().toString();
    Path tmp = null;
    try {
      Files.createDirectories(parent);
      tmp = Files.createTempDirectory(parent, "." + base + ".tmp-");
      writer.write(tmp);
      if (Files.exists(abs)) {
        Path old = Files.createTempDirectory(parent, "." + base + ".old-");
        Files.delete(old);
        Files.move(abs, old, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        Files.move(tmp, abs, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        deleteTree(old);
      } else {
        Files.move(tmp, abs, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      }
      tmp = null;
    } catch (IOException e) {
      throw new RewardKitException(dir + ": cannot write checkpoint: " + e.getMessage(), e);
    } finally {
      if (tmp != null) {
        try {
          deleteTree(tmp);
        } catch (IOException ignored) {
          // best effort cleanup of our own temp directory
        }
      }
    }
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) return;
    try (Stream<Path> walk = Files.walk(p)) {
      for (Path x : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) Files.delete(x);
    }
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
    if (normScratch != null) normScratch.close();
    if (hook instanceof AutoCloseable c) {
      try {
        c.close();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
