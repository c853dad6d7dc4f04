/**
 * The reward model: HF config parsing ({@link io.rewardkit.model.ModelConfig}), parameters in flat
 * weight/grad arenas ({@link io.rewardkit.model.Parameter}), and
 * {@link io.rewardkit.model.RewardModel}, a Llama/Qwen2/Qwen3/Mistral decoder with a scalar score
 * head whose forward/backward run on any {@link io.rewardkit.kernels.Backend}. Checkpoints are HF
 * {@code <Family>ForSequenceClassification} directories (config.json + safetensors), read and
 * written by {@link io.rewardkit.model.safetensors}.
 */
package io.rewardkit.model;
