/**
 * The safetensors format: a validating, memory-mapped reader
 * ({@link io.rewardkit.model.safetensors.SafetensorsFile}), an atomic writer
 * ({@link io.rewardkit.model.safetensors.SafetensorsWriter}), and sharded checkpoint directories
 * with {@code model.safetensors.index.json}
 * ({@link io.rewardkit.model.safetensors.SafetensorsCheckpoint}).
 */
package io.rewardkit.model.safetensors;
