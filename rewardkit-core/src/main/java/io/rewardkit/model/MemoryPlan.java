package io.rewardkit.model;

import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Device;
import io.rewardkit.kernels.Nf4Weight;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What a training run will hold in memory, from the model config alone (nothing is loaded): weights,
 * gradients, AdamW state, fp32 master weights, activations at the token budget and workspace, for
 * full fine-tuning, LoRA and QLoRA, with or without gradient checkpointing.
 *
 * <p>The rules are the ones the code allocates by: weights in the backend's compute dtype (fp32 on CPU,
 * bf16 on CUDA), parameter gradients and AdamW's two moments in fp32, fp32 masters when the weights are
 * narrower (CUDA), activations exactly as {@link Activations} sizes them. LoRA: the base is frozen (no
 * gradient, no optimizer state), each target linear [O, I] gains PEFT's {@code lora_A} [r, I] and
 * {@code lora_B} [O, r], and the {@code score} head is trained in full ({@code modules_to_save}).
 * QLoRA: every decoder linear (targeted or not, as bitsandbytes' {@code load_in_4bit}) is stored NF4 with
 * double quantisation ({@link Nf4Weight#storageBytes}), the rest of the base in the compute dtype, and one
 * scratch the size of the largest linear holds the weight being dequantised for its GEMM.
 */
public final class MemoryPlan {
  private MemoryPlan() {}

  /** The linear modules LoRA can target, HF names; PEFT's "all-linear" is all of them (never the score head). */
  public static final List<String> LINEAR_MODULES = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

  /** Training modes the plan models. */
  public enum Mode {
    FULL("full"), LORA("LoRA"), QLORA("QLoRA");

    private final String label;

    Mode(String label) { this.label = label; }

    public String label() { return label; }
  }

  /** LoRA rank and target modules (HF module names, e.g. {@link #LINEAR_MODULES}). */
  public record Lora(int r, Set<String> targets) {
    public Lora {
      if (r <= 0) throw new IllegalArgumentException("LoRA rank must be > 0, got " + r);
      for (String t : targets) {
        if (!LINEAR_MODULES.contains(t)) throw new IllegalArgumentException("unknown LoRA target module '" + t + "'");
      }
      targets = Set.copyOf(targets);
    }

    /** PEFT's common reward-model setting: r 16 on all linear modules. */
    public static Lora allLinear(int r) { return new Lora(r, Set.copyOf(LINEAR_MODULES)); }

    /** Label for tables: "r16" or "r16 q_proj,v_proj". */
    public String label() {
      if (targets.size() == LINEAR_MODULES.size()) return "r" + r;
      List<String> t = new ArrayList<>();
      for (String m : LINEAR_MODULES) if (targets.contains(m)) t.add(m);
      return "r" + r + " " + String.join(",", t);
    }
  }

  /** One configuration's bytes (per device; RewardKit trains on one). */
  public record Estimate(Mode mode, Lora lora, boolean checkpointing, long trainableParams, long weights, long gradients,
      long optimizerState, long masterWeights, long activations, long workspace) {
    public long total() { return weights + gradients + optimizerState + masterWeights + activations + workspace; }

    /** The same with {@code bytes} more workspace. */
    public Estimate plusWorkspace(long bytes) {
      return new Estimate(mode, lora, checkpointing, trainableParams, weights, gradients, optimizerState, masterWeights,
          activations, workspace + bytes);
    }

    /** Column header, e.g. "full", "LoRA r16 + ckpt". */
    public String label() {
      return mode.label() + (mode == Mode.FULL ? "" : " " + lora.label()) + (checkpointing ? " + ckpt" : "");
    }
  }

  /**
   * CPU: the JVM (heap with the tokenized pairs), native libraries and OpenBLAS buffers of a training
   * process besides its model: peak RSS of the embedded default run (24,000 pairs, 2 threads, 2026-12-01)
   * was 695 MiB with 10 MiB of model and activations.
   */
  public static final long CPU_RUNTIME_BYTES = 700L << 20;
  /** CUDA: the cuBLASLt workspace RewardKit allocates (CudaBackend). */
  public static final long CUDA_GEMM_WORKSPACE_BYTES = 32L << 20;

  /**
   * The bytes one training configuration needs.
   *
   * @param device  CPU or CUDA (decides the compute dtype: fp32 / bf16)
   * @param tokens  the token budget of a micro-batch (--max_tokens_per_batch)
   * @param lora    rank and targets for LoRA/QLoRA (ignored for FULL)
   */
  public static Estimate estimate(ModelConfig cfg, Device device, Mode mode, Lora lora, boolean checkpointing, int tokens) {
    DType dt = device == Device.CUDA ? DType.BF16 : DType.F32;
    long e = dt.bytes();
    long masterPer = e < 4 ? 4 : 0;
    long all = 0, loraParams = 0, nf4Bytes = 0, quantised = 0, biggestTarget = 0;
    int layers = cfg.numHiddenLayers();
    for (ModelParameters.Spec s : ModelParameters.specs(cfg)) {
      long n = s.numel();
      all += n;
      String module = targetModule(s.name());
      if (mode != Mode.FULL && module != null && lora.targets().contains(module)) {
        long o = s.shape()[0], in = s.shape()[1];
        loraParams += (long) lora.r() * (in + o);
      }
      // QLoRA stores every decoder linear NF4, targeted or not (as bitsandbytes' load_in_4bit does)
      if (mode == Mode.QLORA && module != null) {
        nf4Bytes += Nf4Weight.storageBytes(n);
        quantised += n;
        biggestTarget = Math.max(biggestTarget, n);
      }
    }
    long score = cfg.hiddenSize();
    long trainable = mode == Mode.FULL ? all : loraParams + score;
    long weights = mode == Mode.QLORA ? (all - quantised) * e + nf4Bytes + loraParams * e : (all + (mode == Mode.FULL ? 0 : loraParams)) * e;
    long grads = trainable * 4;
    long optimizer = trainable * 8;
    long masters = trainable * masterPer;
    long act = Activations.plannedBytes(cfg, dt, tokens, true, checkpointing);
    if (mode != Mode.FULL) {
      // per target module and layer the low-rank intermediate x·Aᵀ [T, r] (kept per layer also with checkpointing,
      // as LoraAdapters keeps it), plus one [T, r] gradient scratch
      act += (long) tokens * lora.r() * e * (lora.targets().size() * (long) layers + 1);
    }
    long ws;
    if (device == Device.CUDA) {
      long d = cfg.hiddenSize(), f = cfg.intermediateSize();
      // cuBLASLt workspace; flash-attention backward dsum [Hq, T] fp32; column-reduction partials [64, max(D, F, qd)]
      ws = CUDA_GEMM_WORKSPACE_BYTES + 4L * cfg.numAttentionHeads() * tokens + 256
          + 4L * 64 * Math.max(Math.max(d, f), cfg.qDim());
    } else {
      ws = CPU_RUNTIME_BYTES;
    }
    ws += biggestTarget * e;  // QLoRA: the shared dequantisation scratch (largest linear)
    return new Estimate(mode, mode == Mode.FULL ? null : lora, checkpointing, trainable, weights, grads, optimizer, masters, act, ws);
  }

  /**
   * CPU with {@code --bf16}: the bf16 GEMM's packing buffers (gemm_bf16.h: 2 bytes per element of op(A) and op(B), kept
   * by the training thread), sized by the largest GEMM of a decoder linear (forward, dX or dW) at {@code tokens}.
   */
  public static long bf16PackingBytes(ModelConfig cfg, int tokens) {
    long t = tokens, d = cfg.hiddenSize(), f = cfg.intermediateSize(), q = cfg.qDim(), kv = cfg.kvDim();
    long most = 0;
    for (long[] oi : new long[][] {{q, d}, {kv, d}, {d, q}, {f, d}, {d, f}}) {
      long o = oi[0], i = oi[1];
      most = Math.max(most, Math.max(i * (t + o), Math.max(o * (t + i), t * (o + i))));  // fwd K=i, dX K=o, dW K=T
    }
    return 2 * most;
  }

  /** "q_proj" for "model.layers.3.self_attn.q_proj.weight", null for parameters LoRA cannot target. */
  private static String targetModule(String hfName) {
    if (!hfName.endsWith(".weight")) return null;
    String stem = hfName.substring(0, hfName.length() - ".weight".length());
    String last = stem.substring(stem.lastIndexOf('.') + 1);
    return LINEAR_MODULES.contains(last) ? last : null;
  }

  // ---- presentation ---------------------------------------------------------------------------

  private static final double GIB = 1024.0 * 1024 * 1024;

  public static String gib(long bytes) { return String.format(Locale.ROOT, "%.2f GiB", bytes / GIB); }

  /** One line for the first lines of a run. */
  public static String shortLine(Estimate e, Device device, int tokens, Available avail) {
    StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
        "memory plan (%s, %s, %d tokens/batch): weights %s, gradients %s, optimizer %s, masters %s, activations %s, workspace %s = %s",
        device.name().toLowerCase(Locale.ROOT), e.label(), tokens, gib(e.weights()), gib(e.gradients()), gib(e.optimizerState()),
        gib(e.masterWeights()), gib(e.activations()), gib(e.workspace()), gib(e.total())));
    if (avail.bytes() > 0) {
      s.append(" of ").append(gib(avail.bytes())).append(' ').append(avail.what()).append(e.total() <= avail.bytes() ? ": fits" : ": DOES NOT FIT");
    } else {
      s.append(" (").append(avail.what()).append(')');
    }
    return s.toString();
  }

  /** The table of several estimates (columns) for --dry_run and for a run that does not fit. */
  public static String table(List<Estimate> cols, Available avail) {
    StringBuilder s = new StringBuilder();
    int w = 12;
    for (Estimate e : cols) w = Math.max(w, e.label().length() + 2);
    String fmt = "%-18s" + ("%" + w + "s").repeat(cols.size()) + "%n";
    Object[] head = new Object[cols.size() + 1];
    head[0] = "GiB";
    for (int i = 0; i < cols.size(); i++) head[i + 1] = cols.get(i).label();
    s.append(String.format(Locale.ROOT, fmt, head));
    row(s, fmt, "trainable params", cols, e -> String.format(Locale.ROOT, "%,d", e.trainableParams()));
    row(s, fmt, "weights", cols, e -> g(e.weights()));
    row(s, fmt, "gradients", cols, e -> g(e.gradients()));
    row(s, fmt, "optimizer state", cols, e -> g(e.optimizerState()));
    row(s, fmt, "master weights", cols, e -> g(e.masterWeights()));
    row(s, fmt, "activations", cols, e -> g(e.activations()));
    row(s, fmt, "workspace", cols, e -> g(e.workspace()));
    row(s, fmt, "total", cols, e -> g(e.total()));
    if (avail.bytes() > 0) row(s, fmt, "fits " + gib(avail.bytes()), cols, e -> e.total() <= avail.bytes() ? "yes" : "no");
    return s.toString();
  }

  private static String g(long bytes) { return String.format(Locale.ROOT, "%.2f", bytes / GIB); }

  private static void row(StringBuilder s, String fmt, String name, List<Estimate> cols, java.util.function.Function<Estimate, String> f) {
    Object[] r = new Object[cols.size() + 1];
    r[0] = name;
    for (int i = 0; i < cols.size(); i++) r[i + 1] = f.apply(cols.get(i));
    s.append(String.format(Locale.ROOT, fmt, r));
  }

  /** Memory the run can use: bytes (0 when unknown) and what they are, e.g. "available RAM (MemAvailable)". */
  public record Available(long bytes, String what) {}
}
