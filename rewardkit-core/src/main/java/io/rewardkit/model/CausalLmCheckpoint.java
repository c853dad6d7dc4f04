package io.rewardkit.model;

import io.rewardkit.RewardKitException;
import io.rewardkit.io.AtomicFiles;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.safetensors.SafetensorsCheckpoint;
import io.rewardkit.model.safetensors.SafetensorsWriter;
import io.rewardkit.model.safetensors.StDType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a decoder and its LM head as an HF {@code <Family>ForCausalLM} checkpoint (config.json with
 * {@code tie_word_embeddings} as the model has it, model.safetensors with HF names): the decoder's tensors without
 * the reward model's {@code score.weight}, and {@code lm_head.weight} unless the head is the tied embedding. The
 * directory is replaced atomically by {@link AtomicFiles#writeDirectory}, as reward-model checkpoints are.
 */
public final class CausalLmCheckpoint {
  private CausalLmCheckpoint() {}

  /** lmHead [V, D], or null when tied to {@code model.embed_tokens.weight}. */
  public static void save(RewardModel decoder, Tensor lmHead, Path dir, StDType storeAs, long shardBytes) {
    Backend be = decoder.backend();
    List<SafetensorsWriter.TensorSpec> specs = new ArrayList<>();
    for (Parameter p : decoder.parameters()) {
      if (p.hfName().equals("score.weight")) continue;
      specs.add(spec(be, p.hfName(), p.weight(), storeAs));
    }
    if (lmHead != null) specs.add(spec(be, "lm_head.weight", lmHead, storeAs));
    String torchDtype = storeAs == StDType.BF16 ? "bfloat16" : "float32";
    ModelConfig cfg = decoder.config();
    String config = cfg.toCausalLmJsonText(torchDtype);
    if (lmHead == null != cfg.tieWordEmbeddings()) {
      throw new IllegalArgumentException("lm_head " + (lmHead == null ? "tied" : "untied") + " but the config says "
          + "tie_word_embeddings " + cfg.tieWordEmbeddings());
    }
    try {
      AtomicFiles.writeDirectory(dir, tmp -> {
        SafetensorsCheckpoint.write(tmp, specs, shardBytes);
        SafetensorsCheckpoint.writeTextAtomically(tmp.resolve("config.json"), config);
      });
    } catch (IOException e) {
      throw new RewardKitException(dir + ": cannot write checkpoint: " + e.getMessage(), e);
    }
  }

  private static SafetensorsWriter.TensorSpec spec(Backend be, String name, Tensor w, StDType storeAs) {
    Tensor flat = w.reshape(w.numel());
    return new SafetensorsWriter.TensorSpec(name, storeAs, w.shape(), (off, dst, n) -> {
      float[] vals = be.downloadFloats(flat.view(off, n));
      System.arraycopy(vals, 0, dst, 0, n);
    });
  }
}
