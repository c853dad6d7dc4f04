package io.rewardkit.kernels;

/** Element types a {@link Tensor} can hold. */
public enum DType {
  F32(4), F64(8), BF16(2), I32(4);

  private final int bytes;

  DType(int bytes) { this.bytes = bytes; }

  /** Size of one element in bytes. */
  public int bytes() { return bytes; }

  public boolean isFloating() { return this != I32; }
}
