package io.rewardkit.policy;

import io.rewardkit.RewardKitException;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.ModelConfig;
import io.rewardkit.model.Parameter;
import io.rewardkit.model.RewardModel;
import io.rewardkit.model.safetensors.SafetensorsCheckpoint;
import io.rewardkit.model.safetensors.SafetensorsFile;
import io.rewardkit.model.TrainableModel;
import io.rewardkit.model.lora.LoraAdapters;
import io.rewardkit.model.lora.PeftAdapter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A causal LM as a policy: the decoder of {@link RewardModel} (its forward up to the final norm, its backward from
 * there) and the LM head, {@code lm_head.weight} [V, D] or, when the config says {@code tie_word_embeddings}, the
 * embedding matrix itself (its gradient then collects both uses). The reward model's score head is not part of a
 * policy: it is neither trained nor saved. Log-probs come from {@link PolicyHead} (fused linear cross-entropy).
 *
 * <p>With a frozen base ({@code trainBase} false) and {@link #attach LoRA adapters} only the adapters train: no
 * gradient or optimizer memory for the decoder, and the LM head (tied or not) is frozen too, as PEFT leaves it for
 * {@code CAUSAL_LM} (its backward computes the hidden states' gradient only).
 */
public final class PolicyModel implements AutoCloseable {
  static final String LM_HEAD = "lm_head.weight";
  static final String EMBED = "model.embed_tokens.weight";

  private final RewardModel decoder;
  private final boolean tied;
  private final Tensor lmWeight;  // [V, D]: embed_tokens.weight when tied
  private final Tensor lmGrad;    // [V, D]: its gradient (the embedding's when tied)
  private final PolicyHead head;
  private Tensor xNorm;           // final normed hidden [T, D] of the last forward
  private Tensor dXNorm;          // [cap, D] scratch
  private List<TrainableModel.Param> params;
  private LoraAdapters adapters;  // null: the whole policy trains

  private PolicyModel(RewardModel decoder, Tensor untiedWeight) {
    this.decoder = decoder;
    this.tied = untiedWeight == null;
    Parameter embed = decoder.parameters().stream().filter(p -> p.hfName().equals(EMBED)).findFirst().orElseThrow();
    Backend be = decoder.backend();
    this.lmWeight = tied ? embed.weight() : untiedWeight;
    // a frozen base has no embedding gradient (tied) and gets no lm_head one (untied): null skips the kernel's dW pass
    this.lmGrad = tied || !decoder.trainsBase() ? embed.grad() : be.allocate(untiedWeight.dtype() == DType.F64 ? DType.F64 : DType.F32,
        untiedWeight.shape());
    this.head = new PolicyHead(be, decoder.dtype());
    List<TrainableModel.Param> ps = new ArrayList<>();
    if (decoder.trainsBase()) {
      for (Parameter p : decoder.parameters()) {
        if (!p.hfName().equals("score.weight")) ps.add(new TrainableModel.Param(p.hfName(), p.weight(), p.grad(), p.decay()));
      }
      if (!tied) ps.add(new TrainableModel.Param(LM_HEAD, lmWeight, lmGrad, true));
    }
    this.params = List.copyOf(ps);
  }

  /**
   * A fresh policy: the decoder as {@link RewardModel#randomInit(ModelConfig, Backend, DType, long)}, an untied
   * {@code lm_head.weight} ~ N(0, initializer_range²) from its own stream keyed by {@code seed}.
   */
  public static PolicyModel randomInit(ModelConfig cfg, Backend backend, DType dtype, long seed) {
    RewardModel m = RewardModel.randomInit(cfg, backend, dtype, seed);
    if (cfg.tieWordEmbeddings()) return new PolicyModel(m, null);
    long v = cfg.vocabSize(), d = cfg.hiddenSize();
    Tensor w = backend.allocate(dtype, v, d);
    SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + LM_HEAD.hashCode());
    double[] vals = new double[Math.toIntExact(v * d)];
    for (int i = 0; i < vals.length; i++) vals[i] = rng.nextGaussian() * cfg.initializerRange();
    backend.upload(w, vals);
    return new PolicyModel(m, w);
  }

  /**
   * Loads an HF causal-LM (or any decoder) checkpoint: the decoder's tensors as {@link RewardModel#fromPretrained}
   * reads them, and {@code lm_head.weight} unless {@code tie_word_embeddings} (a checkpoint without it is an
   * error naming the file).
   */
  public static PolicyModel fromPretrained(Path dir, Backend backend, DType dtype) {
    return fromPretrained(dir, backend, dtype, true);
  }

  /** As above; {@code trainBase} false: a frozen base (no gradients), for {@link #attach LoRA adapters}. */
  public static PolicyModel fromPretrained(Path dir, Backend backend, DType dtype, boolean trainBase) {
    RewardModel m = RewardModel.fromPretrained(dir, backend, dtype, 0L, trainBase);
    if (m.config().tieWordEmbeddings()) return new PolicyModel(m, null);
    try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(dir)) {
      if (!ckpt.has(LM_HEAD)) {
        throw new RewardKitException(dir + ": checkpoint lacks tensor '" + LM_HEAD + "' and config.json does not set "
            + "tie_word_embeddings: a policy needs its LM head");
      }
      SafetensorsFile f = ckpt.file(LM_HEAD);
      long[] want = {m.config().vocabSize(), m.config().hiddenSize()};
      if (!Arrays.equals(f.entry(LM_HEAD).shape(), want)) {
        throw new RewardKitException(f.path() + ": tensor '" + LM_HEAD + "' has shape " + Arrays.toString(f.entry(LM_HEAD).shape())
            + ", expected " + Arrays.toString(want));
      }
      Tensor w = backend.allocate(dtype, want);
      Tensor flat = w.reshape(w.numel());
      f.readDoubles(LM_HEAD, (off, vals, n) -> {
        for (int i = 0; i < n; i++) {
          if (!Double.isFinite(vals[i])) {
            throw new RewardKitException(f.path() + ": tensor '" + LM_HEAD + "' has a non-finite value at element " + (off + i));
          }
        }
        backend.upload(flat.view(off, n), n == vals.length ? vals : Arrays.copyOf(vals, n));
      });
      return new PolicyModel(m, w);
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
  }

  public ModelConfig config() { return decoder.config(); }

  public Backend backend() { return decoder.backend(); }

  public DType dtype() { return decoder.dtype(); }

  public boolean tied() { return tied; }

  /**
   * Trainable parameters with HF names: the decoder's (no score head) and, untied, {@code lm_head.weight}; with
   * adapters, their lora_A/lora_B only (PEFT's saved names).
   */
  public List<TrainableModel.Param> params() { return params; }

  /**
   * Installs {@code ad} (initialised or loaded) on this frozen policy's decoder, or adopts it when already installed
   * there ({@link io.rewardkit.train.RunSetup#lora}); closed with the policy from here on.
   * The reward model's unused score head moves into the adapters' arena as {@link LoraAdapters#attachTo} does for
   * reward models; a policy never computes its gradient, so it stays zero and outside {@link #params()}.
   */
  public void attach(LoraAdapters ad) {
    if (decoder.trainsBase()) throw new IllegalStateException("LoRA adapters need a frozen base (fromPretrained(..., false))");
    if (adapters != null) throw new IllegalStateException("adapters already attached");
    if (decoder.linearHook() != ad) ad.attachTo(decoder);  // RunSetup.lora installs them itself
    this.adapters = ad;
    List<TrainableModel.Param> ps = new ArrayList<>();
    for (Parameter p : ad.parameters()) ps.add(new TrainableModel.Param(p.hfName(), p.weight(), p.grad(), p.decay()));
    this.params = List.copyOf(ps);
  }

  /** The attached adapters, or null (the whole policy trains). */
  public LoraAdapters adapters() { return adapters; }

  /**
   * Folds the adapters into the base weights ({@link io.rewardkit.model.lora.LoraMerge}: PEFT's merge_and_unload)
   * and frees them; the policy then computes without them what it computed with them, up to one rounding.
   */
  public void mergeAdapters() {
    if (adapters == null) throw new IllegalStateException("no adapters to merge");
    io.rewardkit.model.lora.LoraMerge.merge(decoder, adapters);
    adapters = null;
    params = List.of();
  }

  public void zeroGrad() {
    decoder.zeroGrad();
    if (lmGrad != null && !tied) backend().zero(lmGrad);
    if (adapters != null) adapters.zeroGrad();
  }

  /** Training forward: the log-probs of {@code t}'s entries in {@code batch}; keeps what {@link #backward} needs. */
  public PolicyHead.Logps forward(PackedBatch batch, PolicyTargets t) {
    xNorm = decoder.forwardNormed(batch);
    return head.forward(xNorm, lmWeight, t);
  }

  /** Accumulates the parameter gradients of the last forward given dLoss/d(response sums) and d(prompt sums). */
  public void backward(double[] dResponse, double[] dPrompt) {
    if (xNorm == null) throw new IllegalStateException("backward without a forward");
    long d = config().hiddenSize(), rows = xNorm.numel() / d;
    if (dXNorm == null || dXNorm.numel() < xNorm.numel()) {
      if (dXNorm != null) dXNorm.close();
      dXNorm = backend().allocate(xNorm.dtype(), rows, d);  // [T, D]
    }
    Tensor dx = dXNorm.view(0, rows, d);
    head.backward(dx, lmGrad, xNorm, lmWeight, dResponse, dPrompt);
    decoder.backwardNormed(dx);
  }

  /**
   * What the run trains, into {@code dir}: with adapters a PEFT {@code CAUSAL_LM} adapter directory (fp32
   * adapter_config.json and adapter_model.safetensors, nothing else: the base is the base), else {@link #saveHf}.
   */
  public void save(Path dir) throws java.io.IOException {
    if (adapters == null) {
      saveHf(dir);
    } else {
      PeftAdapter.write(dir, PeftAdapter.Task.CAUSAL_LM, adapters, null, backend(), io.rewardkit.model.safetensors.StDType.F32);
    }
  }

  /**
   * Writes an HF {@code <Family>ForCausalLM} checkpoint (see {@link io.rewardkit.model.CausalLmCheckpoint}), fp32,
   * or bf16 when the model computes in bf16.
   */
  public void saveHf(Path dir) {
    saveHf(dir, dtype() == DType.BF16 ? io.rewardkit.model.safetensors.StDType.BF16 : io.rewardkit.model.safetensors.StDType.F32);
  }

  /** As above, stored as {@code storeAs}. */
  public void saveHf(Path dir, io.rewardkit.model.safetensors.StDType storeAs) {
    if (adapters != null) throw new IllegalStateException("unmerged LoRA adapters: save() writes them, mergeAdapters() folds them in");
    io.rewardkit.model.CausalLmCheckpoint.save(decoder, tied ? null : lmWeight, dir, storeAs, RewardModel.DEFAULT_SHARD_BYTES);
  }

  /** The decoder (for saving and for the parameter arena). */
  public RewardModel decoder() { return decoder; }

  /** The LM head weight [V, D] (the embedding when tied) and its gradient. */
  public Tensor lmHeadWeight() { return lmWeight; }

  public Tensor lmHeadGrad() { return lmGrad; }

  @Override
  public void close() {
    head.close();
    if (dXNorm != null) dXNorm.close();
    if (!tied) {
      lmWeight.close();
      if (lmGrad != null) lmGrad.close();
    }
    decoder.close();  // and the adapters, its linear hook
  }
}
