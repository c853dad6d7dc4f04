package io.rewardkit.train;

import java.nio.file.Path;
import java.util.Map;

/**
 * What a checkpoint carries besides weights and trainer state, supplied by whoever set up the run.
 *
 * @param tokenizerFiles file name in the checkpoint -> source file (tokenizer.json, tokenizer_config.json, ...)
 * @param padTokenId     written to config.json when the model config has none (null: leave out)
 * @param manifest       entries of rewardkit.json describing how to use the model: the readout rule,
 *                       reward token, tokenizer kind, data options (the trainer adds loss config, reward stats)
 */
public record CheckpointContent(Map<String, Path> tokenizerFiles, Integer padTokenId, Map<String, Object> manifest) {
  public static CheckpointContent none() { return new CheckpointContent(Map.of(), null, Map.of()); }
}
