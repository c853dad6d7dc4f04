package io.rewardkit.train;

import io.rewardkit.data.PadToken;
import java.nio.file.Path;
import java.util.Map;

/**
 * What a checkpoint carries besides weights and trainer state, supplied by whoever set up the run.
 *
 * @param tokenizerFiles file name in the checkpoint -> source file (tokenizer.json, tokenizer_config.json, ...)
 * @param pad            the pad token written to config.json (pad_token_id) and to the copied tokenizer
 *                       files (pad_token), never the readout token (null: leave both as they are)
 * @param manifest       entries of rewardkit.json describing how to use the model: the readout rule,
 *                       reward token, tokenizer kind, data options (the trainer adds loss config, reward stats)
 * @param saveDtype      float32 or bfloat16: the dtype of the saved weights (null: the model's compute dtype)
 */
public record CheckpointContent(Map<String, Path> tokenizerFiles, PadToken pad, Map<String, Object> manifest, String saveDtype) {
  public static CheckpointContent none() { return new CheckpointContent(Map.of(), null, Map.of(), null); }
}
