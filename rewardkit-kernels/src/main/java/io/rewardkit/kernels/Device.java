package io.rewardkit.kernels;

/** Where a tensor's memory lives. */
public enum Device {
  CPU, CUDA
}
