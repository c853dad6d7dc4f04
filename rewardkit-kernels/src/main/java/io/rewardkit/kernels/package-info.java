/**
 * RewardKit's kernels: {@link io.rewardkit.kernels.Tensor} buffers and the
 * {@link io.rewardkit.kernels.Backend} ops (forward and backward of every layer a reward model has, the
 * fused reward loss, AdamW, gradient norm) on the CPU ({@link io.rewardkit.kernels.CpuBackend}: C++
 * reference kernels in {@code kernels.cpu}) or a GPU ({@code kernels.cuda}), chosen once with
 * {@link io.rewardkit.kernels.Backends#select}. Depends on nothing else of RewardKit; the module's
 * README has a runnable example ({@code rewardkit-kernels/examples/TinyAttention.java}).
 */
package io.rewardkit.kernels;
