package io.rewardkit.model.lora;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.LinearHook;
import io.rewardkit.model.LinearModule;
import io.rewardkit.model.ModelConfig;
import io.rewardkit.model.Parameter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The LoRA matrices of a model: for every decoder layer and target module, {@code lora_A} [r, in]
 * and {@code lora_B} [out, r] in two flat arenas (weights, grads) like the model's own parameters.
 * Parameters are named as PEFT saves them ({@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight}).
 * Runs as the model's {@link LinearHook}: the low-rank path is added to each target's output and
 * its gradients accumulate here. Keeps {@code x · Aᵀ} [T, r] per (layer, module) from a training
 * forward for the backward.
 */
public final class LoraAdapters implements LinearHook, AutoCloseable {
  /** PEFT's prefix of a task model's keys (PeftModelForSequenceClassification.base_model.model). */
  public static final String PREFIX = "base_model.model.";
  private static final long ALIGN = 128;

  /** One adapted module: its A, B and the buffers of its saved x · Aᵀ. */
  public static final class Pair {
    public final int layer;
    public final LinearModule module;
    public final Parameter a;   // [r, in]
    public final Parameter b;   // [out, r]
    private Tensor u;           // [capT, r]: x · Aᵀ of the last training forward

    Pair(int layer, LinearModule module, Parameter a, Parameter b) {
      this.layer = layer;
      this.module = module;
      this.a = a;
      this.b = b;
    }
  }

  private final ModelConfig cfg;
  private final LoraConfig lora;
  private final Backend be;
  private final DType dtype;
  private final double scale;
  private final Tensor weights;  // [total] flat arena
  private final Tensor grads;    // [total] same layout
  private final Tensor headWeight;  // [1, D] the score head while attached
  private final Tensor headGrad;    // [1, D]
  private final Pair[][] byLayer;  // [layer][module ordinal], null where not adapted
  private final List<Pair> pairs;
  private final List<Parameter> params;
  private Tensor inferU;   // [capInfer, r] scratch of inference forwards
  private Tensor du;       // [capDu, r] backward scratch
  private String baseModel;     // base_model_name_or_path for adapter_config.json, or null
  private String baseRevision;  // its revision, or null

  public LoraAdapters(ModelConfig cfg, LoraConfig lora, Backend be, DType dtype) {
    this.cfg = cfg;
    this.lora = lora;
    this.be = be;
    this.dtype = dtype;
    this.scale = lora.scaling();
    List<LinearModule> targets = lora.orderedTargets();
    long total = 0;
    List<long[]> shapes = new ArrayList<>();
    for (int l = 0; l < cfg.numHiddenLayers(); l++) {
      for (LinearModule m : targets) {
        long[] a = {lora.r(), m.inFeatures(cfg)}, b = {m.outFeatures(cfg), lora.r()};
        shapes.add(a);
        shapes.add(b);
        total = Math.addExact(total, padded(a) + padded(b));
      }
    }
    long headAt = total;  // the score head's slot (see attachTo), after the adapters
    total = Math.addExact(total, padded(new long[] {1, cfg.hiddenSize()}));
    this.weights = be.allocate(dtype, total);
    this.grads = be.allocate(dtype == DType.F64 ? DType.F64 : DType.F32, total);
    this.headWeight = weights.view(headAt, 1, cfg.hiddenSize());
    this.headGrad = grads.view(headAt, 1, cfg.hiddenSize());
    this.byLayer = new Pair[cfg.numHiddenLayers()][LinearModule.values().length];
    List<Pair> ps = new ArrayList<>();
    List<Parameter> params = new ArrayList<>();
    long off = 0;
    int k = 0;
    for (int l = 0; l < cfg.numHiddenLayers(); l++) {
      for (LinearModule m : targets) {
        long[] as = shapes.get(k++), bs = shapes.get(k++);
        Parameter a = new Parameter(keyA(l, m), weights.view(off, as), grads.view(off, as), true);
        off += padded(as);
        Parameter b = new Parameter(keyB(l, m), weights.view(off, bs), grads.view(off, bs), true);
        off += padded(bs);
        Pair p = new Pair(l, m, a, b);
        byLayer[l][m.ordinal()] = p;
        ps.add(p);
        params.add(a);
        params.add(b);
      }
    }
    this.pairs = Collections.unmodifiableList(ps);
    this.params = Collections.unmodifiableList(params);
  }

  private static long padded(long[] shape) { return (Tensor.numel(shape) + ALIGN - 1) / ALIGN * ALIGN; }

  /** PEFT's saved key of a module's lora_A weight. */
  public static String keyA(int layer, LinearModule m) { return PREFIX + m.path(layer) + ".lora_A.weight"; }

  public static String keyB(int layer, LinearModule m) { return PREFIX + m.path(layer) + ".lora_B.weight"; }

  /**
   * PEFT's initialisation ({@code init_lora_weights=True}): A as {@code nn.init.kaiming_uniform_(a=sqrt(5))},
   * i.e. U(-1/sqrt(in), 1/sqrt(in)), and B zero, so the adapted model starts equal to the base.
   * Each A draws from its own stream keyed by (seed, name).
   */
  public void initialize(long seed) {
    be.zero(weights);
    for (Pair p : pairs) {
      long in = p.a.weight().dim(1);
      double bound = 1.0 / Math.sqrt(in);
      SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + p.a.hfName().hashCode());
      double[] v = new double[Math.toIntExact(p.a.numel())];
      for (int i = 0; i < v.length; i++) v[i] = (rng.nextDouble() * 2 - 1) * bound;
      upload(p.a.weight(), v);
    }
  }

  void upload(Tensor dst, double[] v) {
    if (dtype == DType.F64) {
      be.upload(dst, v);
    } else {
      float[] f = new float[v.length];
      for (int i = 0; i < f.length; i++) f[i] = (float) v[i];
      be.upload(dst, f);
    }
  }

  /**
   * Installs these adapters as {@code model}'s linear hook and moves its score head into this arena (after
   * the adapters), so one arena optimizer trains adapters and head. The model must have a frozen base.
   */
  public void attachTo(io.rewardkit.model.RewardModel model) {
    model.setLinearHook(this);
    model.moveScoreHead(headWeight, headGrad);
  }

  public LoraConfig config() { return lora; }

  public ModelConfig modelConfig() { return cfg; }

  public double scale() { return scale; }

  /** Every adapted module, layer by layer in HF module order. */
  public List<Pair> pairs() { return pairs; }

  /** lora_A and lora_B of every adapted module, in {@link #pairs()} order. */
  public List<Parameter> parameters() { return params; }

  public Pair pair(int layer, LinearModule m) { return byLayer[layer][m.ordinal()]; }

  /** The weight arena: every lora_A/lora_B and, while attached, the score head. */
  public Tensor weights() { return weights; }

  /** The gradient arena, laid out like {@link #weights()}. */
  public Tensor grads() { return grads; }

  public void zeroGrad() { be.zero(grads); }

  public long numParameters() {
    long n = 0;
    for (Parameter p : params) n += p.numel();
    return n;
  }

  /** Sets what adapter_config.json names as the base model (path or hub id) and its revision (either may be null). */
  public void setBaseModel(String nameOrPath, String revision) {
    this.baseModel = nameOrPath;
    this.baseRevision = revision;
  }

  public String baseModel() { return baseModel; }

  public String baseRevision() { return baseRevision; }

  // ---- the hook ---------------------------------------------------------------------------------

  @Override
  public void forward(int layer, LinearModule module, Tensor out, Tensor x, boolean training) {
    Pair p = byLayer[layer][module.ordinal()];
    if (p == null) return;
    long t = x.numel() / module.inFeatures(cfg);
    Tensor u;
    if (training) {
      if (p.u == null || p.u.dim(0) < t) p.u = grow(p.u, t);
      u = p.u.view(0, t, lora.r());
    } else {
      if (inferU == null || inferU.dim(0) < t) inferU = grow(inferU, t);
      u = inferU.view(0, t, lora.r());
    }
    be.loraForward(out, u, x, p.a.weight(), p.b.weight(), scale);
  }

  @Override
  public void backward(int layer, LinearModule module, Tensor dx, Tensor dOut, Tensor x) {
    Pair p = byLayer[layer][module.ordinal()];
    if (p == null) return;
    long t = x.numel() / module.inFeatures(cfg);
    if (p.u == null || p.u.dim(0) < t) throw new IllegalStateException("LoRA backward without a training forward");
    if (du == null || du.dim(0) < t) du = grow(du, t);
    be.loraBackward(dx, p.a.grad(), p.b.grad(), du.view(0, t, lora.r()), dOut, x, p.u.view(0, t, lora.r()),
        p.a.weight(), p.b.weight(), scale);
  }

  private Tensor grow(Tensor old, long t) {
    if (old != null) old.close();
    return be.allocate(dtype, Math.max(t, 16), lora.r());  // [capT, r]
  }

  /** Bytes of LoRA weights, grads and saved activations. */
  public long bytes() {
    long n = weights.bytes() + grads.bytes();
    for (Pair p : pairs) if (p.u != null) n += p.u.bytes();
    if (inferU != null) n += inferU.bytes();
    if (du != null) n += du.bytes();
    return n;
  }

  @Override
  public void close() {
    for (Pair p : pairs) if (p.u != null) p.u.close();
    if (inferU != null) inferU.close();
    if (du != null) du.close();
    weights.close();
    grads.close();
  }
}
