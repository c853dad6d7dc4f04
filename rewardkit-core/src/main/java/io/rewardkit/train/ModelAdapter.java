package io.rewardkit.train;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.Parameter;
import io.rewardkit.model.RewardModel;
import io.rewardkit.model.TrainableModel;
import io.rewardkit.model.lora.LoraAdapters;
import io.rewardkit.model.lora.PeftAdapter;
import io.rewardkit.model.safetensors.StDType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link TrainableModel} view of a {@link RewardModel}: every parameter, or with LoRA adapters the
 * adapters' lora_A/lora_B and the score head only (the base is frozen: no gradients, no optimizer
 * state), and then saves write PEFT adapter directories instead of full checkpoints.
 */
public final class ModelAdapter implements TrainableModel {
  private final RewardModel model;
  private final LoraAdapters lora;
  private final List<Param> params;

  public ModelAdapter(RewardModel model) { this(model, null); }

  /** With {@code lora} (installed as the model's hook, the model built with a frozen base) the adapters train. */
  public ModelAdapter(RewardModel model, LoraAdapters lora) {
    if (lora != null && (model.trainsBase() || model.linearHook() != lora)) {
      throw new IllegalArgumentException("a LoRA run needs a frozen base model with the adapters as its linear hook");
    }
    this.model = model;
    this.lora = lora;
    List<Param> ps = new ArrayList<>();
    List<Parameter> trained = new ArrayList<>();
    if (lora == null) {
      trained.addAll(model.parameters());
    } else {
      trained.addAll(lora.parameters());
      trained.add(model.scoreHead());
    }
    for (Parameter p : trained) ps.add(new Param(p.hfName(), p.weight(), p.grad(), p.decay()));
    this.params = List.copyOf(ps);
  }

  public RewardModel model() { return model; }

  /** The adapters being trained, or null for full fine-tuning. */
  public LoraAdapters lora() { return lora; }

  @Override public Backend backend() { return model.backend(); }
  @Override public Tensor forward(PackedBatch batch) { return model.forward(batch); }
  @Override public float[] score(PackedBatch batch) { return model.score(batch); }
  @Override public void backward(Tensor dRewards) { model.backward(dRewards); }

  @Override public void zeroGrad() {
    model.zeroGrad();
    if (lora != null) lora.zeroGrad();
  }

  @Override public List<Param> params() { return params; }
  @Override public Tensor weightArena() { return lora == null ? model.weights() : lora.weights(); }
  @Override public Tensor gradArena() { return lora == null ? model.grads() : lora.grads(); }
  @Override public void saveHf(Path dir) throws IOException { saveHf(dir, null); }

  @Override
  public void saveHf(Path dir, String dtype) throws IOException {
    if (lora != null) {
      StDType st = dtype == null ? (model.dtype() == io.rewardkit.kernels.DType.BF16 ? StDType.BF16 : StDType.F32) : SaveDtype.storage(dtype);
      PeftAdapter.write(dir, lora, model.scoreHead(), model.backend(), st);
    } else if (dtype == null) {
      model.saveHf(dir);
    } else {
      model.saveHf(dir, SaveDtype.storage(dtype), RewardModel.DEFAULT_SHARD_BYTES);
    }
  }
}
