/**
 * The reward model: HF config parsing ({@link io.rewardkit.model.ModelConfig}), parameters in flat
 * weight/grad arenas ({@link io.rewardkit.model.Parameter}), and
 * {@link io.rewardkit.model.RewardModel}, a Llama/Qwen2/Qwen3/Mistral decoder with a scalar score
 * head whose forward/backward run on any {@link io.rewardkit.kernels.Backend}. RewardModel composes
 * layer blocks that keep each forward beside its backward ({@code EmbeddingBlock},
 * {@code DecoderLayerBlock}: attention + MLP, {@code ScoreHeadBlock}: final norm + score readout),
 * {@code ParameterInit} (fresh weights) and {@code HfCheckpoint} (load/save). Checkpoints are HF
 * {@code <Family>ForSequenceClassification} directories (config.json + safetensors), read and
 * written by {@link io.rewardkit.model.safetensors}.
 */
package io.rewardkit.model;
