package io.rewardkit.train;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.Parameter;
import io.rewardkit.model.RewardModel;
import io.rewardkit.model.TrainableModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@link TrainableModel} view of a {@link RewardModel}. */
public final class ModelAdapter implements TrainableModel {
  private final RewardModel model;
  private final List<Param> params;

  public ModelAdapter(RewardModel model) {
    this.model = model;
    List<Param> ps = new ArrayList<>();
    for (Parameter p : model.parameters()) ps.add(new Param(p.hfName(), p.weight(), p.grad(), p.decay()));
    this.params = List.copyOf(ps);
  }

  public RewardModel model() { return model; }

  @Override public Backend backend() { return model.backend(); }
  @Override public Tensor forward(PackedBatch batch) { return model.forward(batch); }
  @Override public float[] score(PackedBatch batch) { return model.score(batch); }
  @Override public void backward(Tensor dRewards) { model.backward(dRewards); }
  @Override public void zeroGrad() { model.zeroGrad(); }
  @Override public List<Param> params() { return params; }
  @Override public Tensor weightArena() { return model.weights(); }
  @Override public Tensor gradArena() { return model.grads(); }
  @Override public void saveHf(Path dir) { model.saveHf(dir); }

  @Override
  public void saveHf(Path dir, String dtype) {
    if (dtype == null) model.saveHf(dir);
    else model.saveHf(dir, SaveDtype.storage(dtype), RewardModel.DEFAULT_SHARD_BYTES);
  }
}
