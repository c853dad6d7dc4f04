package io.rewardkit.model.safetensors;

/**
 * Element types of the safetensors format (the {@code dtype} strings of its header). All are
 * recognised so a header can be validated; only F32, F16, BF16 (and F64) can be read as floats.
 */
public enum StDType {
  BOOL(1), U8(1), I8(1), F8_E4M3(1), F8_E5M2(1),
  I16(2), U16(2), F16(2), BF16(2),
  I32(4), U32(4), F32(4),
  I64(8), U64(8), F64(8);

  private final int bytes;

  StDType(int bytes) { this.bytes = bytes; }

  public int bytes() { return bytes; }

  /** Whether values can be converted to float/double by the reader. */
  public boolean readableAsFloat() {
    return this == F32 || this == F16 || this == BF16 || this == F64;
  }

  /** The dtype for a header string, or null when unknown. */
  public static StDType parse(String s) {
    for (StDType d : values()) if (d.name().equals(s)) return d;
    return null;
  }
}
