package io.rewardkit.kernels;

/** Argument checks shared by backends: validated once at the API boundary, with the op's name. */
public final class Shapes {
  private Shapes() {}

  public static void require(String op, boolean condition, String detail) {
    if (!condition) throw new IllegalArgumentException(op + ": bad arguments: " + detail);
  }

  /** The common floating dtype of all non-null tensors, or an error naming the op. */
  public static DType floatType(String op, Tensor... tensors) {
    DType type = null;
    for (Tensor t : tensors) {
      if (t == null) continue;
      if (type == null) type = t.dtype();
      else if (t.dtype() != type) throw new IllegalArgumentException(op + ": mixed dtypes " + type + " and " + t.dtype());
    }
    if (type == null || !type.isFloating()) throw new IllegalArgumentException(op + ": needs floating tensors, got " + type);
    return type;
  }

  public static IllegalArgumentException unsupported(String op, DType dtype) {
    return new IllegalArgumentException(op + ": dtype " + dtype + " not supported on this backend");
  }
}
