package io.rewardkit.train;

import com.fasterxml.jackson.databind.JsonNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.model.safetensors.StDType;
import java.nio.file.Files;
import java.nio.file.Path;

/** --save_dtype: the dtype of saved weights. auto keeps the input checkpoint's (a bf16 base comes back bf16). */
public final class SaveDtype {
  private SaveDtype() {}

  /**
   * float32 or bfloat16 for {@code option} (auto|float32|bfloat16); auto reads the base
   * checkpoint's config.json {@code torch_dtype}/{@code dtype} (bfloat16 stays bfloat16, anything else,
   * float16 included, is saved as float32), and is float32 without a base checkpoint.
   */
  public static String resolve(String option, String modelNameOrPath) {
    String o = option == null ? "auto" : option;
    switch (o) {
      case "float32", "bfloat16" -> { return o; }
      case "auto" -> {
        if (modelNameOrPath == null) return "float32";
        Path cfg = Path.of(modelNameOrPath).resolve("config.json");
        if (!Files.isRegularFile(cfg)) return "float32";
        JsonNode n = Checkpoints.readJson(cfg);
        String d = n.hasNonNull("torch_dtype") ? n.get("torch_dtype").asText() : n.path("dtype").asText("float32");
        return d.equals("bfloat16") ? "bfloat16" : "float32";
      }
      default -> throw new RewardKitException("--save_dtype must be auto, float32 or bfloat16, got '" + o + "'");
    }
  }

  public static StDType storage(String dtype) {
    return switch (dtype) {
      case "float32" -> StDType.F32;
      case "bfloat16" -> StDType.BF16;
      default -> throw new IllegalArgumentException("save dtype " + dtype);
    };
  }
}
