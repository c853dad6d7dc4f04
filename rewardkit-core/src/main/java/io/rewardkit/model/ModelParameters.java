package io.rewardkit.model;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Nf4Weight;
import io.rewardkit.kernels.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The parameters of a reward model in two flat arenas (llm.c style): one tensor holds every
 * weight, another every gradient, and each {@link Parameter} is a pair of views at the same
 * offset. The optimizer and gradient clipping can then run over one buffer, and zeroing the grads
 * is one memset. Arena order is by optimizer group: the weight-decay tensors (embedding, the layers'
 * matrices, score) then the no-decay ones (norms, biases), each in HF module order; {@link #all}
 * stays in HF module order.
 */
final class ModelParameters {
  /**
   * Offsets are rounded up to this many elements: ≥ 256 bytes for every dtype, the alignment
   * cuBLASLt's heuristics assume for its fastest kernels (and enough for 16-byte vector loads).
   */
  static final long ALIGN = 128;

  /** The parameters of one decoder layer; biases and q/k norms are null when the config has none. */
  record Layer(
      Parameter inputNorm,   // [D]
      Parameter q,           // [Hq·hd, D]
      Parameter qBias,       // [Hq·hd]
      Parameter k,           // [Hkv·hd, D]
      Parameter kBias,       // [Hkv·hd]
      Parameter v,           // [Hkv·hd, D]
      Parameter vBias,       // [Hkv·hd]
      Parameter o,           // [D, Hq·hd]
      Parameter oBias,       // [D]
      Parameter qNorm,       // [hd]
      Parameter kNorm,       // [hd]
      Parameter postNorm,    // [D]
      Parameter gate,        // [F, D]
      Parameter up,          // [F, D]
      Parameter down) {}     // [D, F]

  final Tensor weights;      // [total] flat arena
  final Tensor grads;        // [total] flat arena, same layout
  List<Parameter> all;        // score replaced by rebindScore
  final Parameter embed;     // [V, D]
  final Layer[] layers;
  final Parameter finalNorm; // [D]
  Parameter score;           // [1, D]; lives in another arena after rebindScore
  Parameter scoreHome;       // the score's slot in these arenas
  /**
   * QLoRA: the decoder linears stored NF4 instead of in the arena, [layer][LinearModule ordinal] (null
   * where dense). Their {@link Layer} entries are Parameters with a null weight and grad, and they are
   * not in {@link #all}. Filled by the loader.
   */
  final Nf4Weight[][] nf4;
  final Set<LinearModule> nf4Modules;

  /** Parameter kinds, for init: what a fresh parameter holds. */
  enum Kind { MATRIX, NORM, BIAS, SCORE }

  record Spec(String name, long[] shape, Kind kind) {
    long numel() { return Tensor.numel(shape); }
  }

  /** Names, shapes and kinds of every parameter of {@code cfg}, in HF module order (the arena groups them by optimizer group). */
  static List<Spec> specs(ModelConfig cfg) {
    long d = cfg.hiddenSize(), f = cfg.intermediateSize(), qd = cfg.qDim(), kvd = cfg.kvDim();
    List<Spec> s = new ArrayList<>();
    s.add(new Spec("model.embed_tokens.weight", new long[] {cfg.vocabSize(), d}, Kind.MATRIX));
    for (int l = 0; l < cfg.numHiddenLayers(); l++) {
      String p = "model.layers." + l + ".";
      s.add(new Spec(p + "input_layernorm.weight", new long[] {d}, Kind.NORM));
      s.add(new Spec(p + "self_attn.q_proj.weight", new long[] {qd, d}, Kind.MATRIX));
      if (cfg.qkvBias()) s.add(new Spec(p + "self_attn.q_proj.bias", new long[] {qd}, Kind.BIAS));
      s.add(new Spec(p + "self_attn.k_proj.weight", new long[] {kvd, d}, Kind.MATRIX));
      if (cfg.qkvBias()) s.add(new Spec(p + "self_attn.k_proj.bias", new long[] {kvd}, Kind.BIAS));
      s.add(new Spec(p + "self_attn.v_proj.weight", new long[] {kvd, d}, Kind.MATRIX));
      if (cfg.qkvBias()) s.add(new Spec(p + "self_attn.v_proj.bias", new long[] {kvd}, Kind.BIAS));
      s.add(new Spec(p + "self_attn.o_proj.weight", new long[] {d, qd}, Kind.MATRIX));
      if (cfg.oBias()) s.add(new Spec(p + "self_attn.o_proj.bias", new long[] {d}, Kind.BIAS));
      if (cfg.qkNorm()) {
        s.add(new Spec(p + "self_attn.q_norm.weight", new long[] {cfg.headDim()}, Kind.NORM));
        s.add(new Spec(p + "self_attn.k_norm.weight", new long[] {cfg.headDim()}, Kind.NORM));
      }
      s.add(new Spec(p + "post_attention_layernorm.weight", new long[] {d}, Kind.NORM));
      s.add(new Spec(p + "mlp.gate_proj.weight", new long[] {f, d}, Kind.MATRIX));
      s.add(new Spec(p + "mlp.up_proj.weight", new long[] {f, d}, Kind.MATRIX));
      s.add(new Spec(p + "mlp.down_proj.weight", new long[] {d, f}, Kind.MATRIX));
    }
    s.add(new Spec("model.norm.weight", new long[] {d}, Kind.NORM));
    s.add(new Spec("score.weight", new long[] {1, d}, Kind.SCORE));
    return s;
  }

  /**
   * With {@code baseGrads} false the base is frozen (LoRA): only the score head has a gradient (a
   * small arena of its own) and every other parameter's {@link Parameter#grad()} is null, so no
   * memory is spent on gradients nothing will use.
   */
  ModelParameters(ModelConfig cfg, Backend backend, DType dtype, boolean baseGrads) {
    this(cfg, backend, dtype, baseGrads, Set.of());
  }

  /**
   * As above; the decoder linears of {@code nf4Modules} (frozen base only) get no arena slot: the
   * loader stores them as {@link Nf4Weight}s in {@link #nf4}, so their dense copy never exists in full.
   */
  ModelParameters(ModelConfig cfg, Backend backend, DType dtype, boolean baseGrads, Set<LinearModule> nf4Modules) {
    if (baseGrads && !nf4Modules.isEmpty()) throw new IllegalArgumentException("an NF4 base is frozen: it cannot train");
    this.nf4Modules = nf4Modules.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(nf4Modules));
    this.nf4 = new Nf4Weight[cfg.numHiddenLayers()][LinearModule.values().length];
    List<Spec> specs = specs(cfg);
    long[] offsets = new long[specs.size()];
    long total = 0;
    // By optimizer group (llm.c): every weight-decay tensor first, then norms and biases, each group in HF
    // module order, so AdamW runs one fused call per group over one contiguous span.
    for (boolean decayGroup : new boolean[] {true, false}) {
      for (int i = 0; i < specs.size(); i++) {
        if (decays(specs.get(i).kind()) != decayGroup || quantised(specs.get(i).name())) continue;
        offsets[i] = total;
        total = Math.addExact(total, (specs.get(i).numel() + ALIGN - 1) / ALIGN * ALIGN);
      }
    }
    this.weights = backend.allocate(dtype, total);
    // Parameter grads accumulate in fp32 even when weights are BF16 (CUDA); F64 stays F64 (gradient checks).
    DType gradType = dtype == DType.F64 ? DType.F64 : DType.F32;
    Spec scoreSpec = specs.get(specs.size() - 1);
    this.grads = backend.allocate(gradType, baseGrads ? total : scoreSpec.numel());
    List<Parameter> list = new ArrayList<>(specs.size());
    for (int i = 0; i < specs.size(); i++) {
      Spec s = specs.get(i);
      if (quantised(s.name())) {
        list.add(new Parameter(s.name(), null, null, decays(s.kind())));
        continue;
      }
      Tensor grad = baseGrads ? grads.view(offsets[i], s.shape()) : s.kind() == Kind.SCORE ? grads.view(0, s.shape()) : null;
      list.add(new Parameter(s.name(), weights.view(offsets[i], s.shape()), grad, decays(s.kind())));
    }
    this.all = Collections.unmodifiableList(list.stream().filter(p -> p.weight() != null).toList());

    int i = 0;
    this.embed = list.get(i++);
    this.layers = new Layer[cfg.numHiddenLayers()];
    for (int l = 0; l < layers.length; l++) {
      Parameter inNorm = list.get(i++);
      Parameter q = list.get(i++);
      Parameter qb = cfg.qkvBias() ? list.get(i++) : null;
      Parameter k = list.get(i++);
      Parameter kb = cfg.qkvBias() ? list.get(i++) : null;
      Parameter v = list.get(i++);
      Parameter vb = cfg.qkvBias() ? list.get(i++) : null;
      Parameter o = list.get(i++);
      Parameter ob = cfg.oBias() ? list.get(i++) : null;
      Parameter qn = cfg.qkNorm() ? list.get(i++) : null;
      Parameter kn = cfg.qkNorm() ? list.get(i++) : null;
      Parameter post = list.get(i++);
      Parameter gate = list.get(i++);
      Parameter up = list.get(i++);
      Parameter down = list.get(i++);
      layers[l] = new Layer(inNorm, q, qb, k, kb, v, vb, o, ob, qn, kn, post, gate, up, down);
    }
    this.finalNorm = list.get(i++);
    this.score = list.get(i++);
    this.scoreHome = score;
    if (i != list.size()) throw new IllegalStateException("parameter layout mismatch");
  }

  /** The module a decoder linear's weight belongs to ("model.layers.3.mlp.up_proj.weight": UP_PROJ), or null. */
  static LinearModule linearOf(String hfName) {
    if (!hfName.startsWith("model.layers.") || !hfName.endsWith("_proj.weight")) return null;
    String stem = hfName.substring(0, hfName.length() - ".weight".length());
    return LinearModule.byHfName(stem.substring(stem.lastIndexOf('.') + 1));
  }

  /** The layer index of a "model.layers.N.*" name. */
  static int layerOf(String hfName) {
    int from = "model.layers.".length();
    return Integer.parseInt(hfName.substring(from, hfName.indexOf('.', from)));
  }

  boolean quantised(String hfName) {
    LinearModule m = linearOf(hfName);
    return m != null && nf4Modules.contains(m);
  }

  /** The specs stored NF4 (HF module order). */
  static List<Spec> nf4Specs(ModelConfig cfg, Set<LinearModule> modules) {
    List<Spec> out = new ArrayList<>();
    for (Spec s : specs(cfg)) {
      LinearModule m = linearOf(s.name());
      if (m != null && modules.contains(m)) out.add(s);
    }
    return out;
  }

  /** Frees the NF4 weights. */
  void closeNf4() {
    for (Nf4Weight[] row : nf4) {
      for (int j = 0; j < row.length; j++) {
        if (row[j] != null) row[j].close();
        row[j] = null;
      }
    }
  }

  /** Weight decay applies to matrices (and the score head), not to norm weights and biases (HF/TRL default). */
  static boolean decays(Kind kind) { return kind == Kind.MATRIX || kind == Kind.SCORE; }

  /** Points the score parameter at {@code w}/{@code g} (views of another arena), keeping its name and decay flag. */
  void rebindScore(Tensor w, Tensor g) {
    Parameter next = new Parameter(score.hfName(), w, g, score.decay());
    List<Parameter> l = new ArrayList<>(all);
    l.set(l.indexOf(score), next);
    all = Collections.unmodifiableList(l);
    score = next;
  }

  /** Total parameter count (without alignment padding), NF4-stored linears included. */
  long count() {
    long n = 0;
    for (Parameter p : all) n += p.numel();
    for (Nf4Weight[] row : nf4) for (Nf4Weight w : row) if (w != null) n += w.numel();
    return n;
  }
}
