package io.rewardkit.kernels;

import io.rewardkit.kernels.cpu.Nf4;
import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * A frozen weight stored as NF4 with double quantisation (QLoRA; bitsandbytes
 * {@code quantize_4bit(quant_type="nf4", blocksize=64, compress_statistics=True)}, format in
 * {@code native/include/rewardkit/nf4.h}): 4.127 bits per element instead of 16 (bf16) or 32 (fp32).
 * Quantised once on the host by the CPU reference kernel, then kept on the backend's device;
 * {@link Backend#nf4Dequantize} expands it for the GEMM ({@link Nf4Linear}).
 *
 * <p>The u8 arrays live in I32 tensors (four bytes per word, in memory order): the tensor layer has no
 * byte type, and the kernels read the words' memory as {@code uint8_t*}.
 */
public final class Nf4Weight implements AutoCloseable {
  /** Elements per absmax (bitsandbytes' QLoRA blocksize). */
  public static final int BLOCK = 64;
  /** absmax values per second-level scale (double quantisation). */
  public static final int ABSMAX_BLOCK = 256;

  private final long[] shape;
  private final long n;
  private final Tensor packed;   // I32 words holding u8 [ceil(n/2)]
  private final Tensor qabsmax;  // I32 words holding u8 [ceil(n/64)]
  private final Tensor absmax2;  // F32 [ceil(n/64/256)]
  private final float offset;

  private Nf4Weight(long[] shape, Tensor packed, Tensor qabsmax, Tensor absmax2, float offset) {
    this.shape = shape.clone();
    this.n = Tensor.numel(shape);
    this.packed = packed;
    this.qabsmax = qabsmax;
    this.absmax2 = absmax2;
    this.offset = offset;
  }

  public static long packedBytes(long n) { return (n + 1) / 2; }

  public static long numBlocks(long n) { return (n + BLOCK - 1) / BLOCK; }

  public static long numAbsmaxBlocks(long n) { return (numBlocks(n) + ABSMAX_BLOCK - 1) / ABSMAX_BLOCK; }

  /** Bytes of NF4 storage for n elements: codes, 8-bit absmax, fp32 second-level scales and offset. */
  public static long storageBytes(long n) { return packedBytes(n) + numBlocks(n) + 4 * numAbsmaxBlocks(n) + 4; }

  /** Quantises {@code w} (any float tensor of this backend; values are read as fp32) into a new NF4 weight. */
  public static Nf4Weight quantize(Backend be, Tensor w) {
    float[] vals = be.downloadFloats(w);
    long n = vals.length;
    if (n == 0) throw new IllegalArgumentException("nf4: empty weight " + w);
    long nb = numBlocks(n), nb2 = numAbsmaxBlocks(n);
    try (FloatPointer src = new FloatPointer(vals); BytePointer p = new BytePointer(packedBytes(n));
         BytePointer q = new BytePointer(nb); FloatPointer a2 = new FloatPointer(nb2); FloatPointer off = new FloatPointer(1)) {
      Nf4.nf4_quantize(p, q, a2, off, src, n);
      float[] scales = new float[Math.toIntExact(nb2)];
      a2.get(scales);
      return fromParts(be, w.shape(), bytes(p, packedBytes(n)), bytes(q, nb), scales, off.get());
    }
  }

  /** An NF4 weight from its stored parts (e.g. a bitsandbytes-quantised checkpoint or a golden file). */
  public static Nf4Weight fromParts(Backend be, long[] shape, byte[] packed, byte[] qabsmax, float[] absmax2, float offset) {
    long n = Tensor.numel(shape);
    if (packed.length != packedBytes(n) || qabsmax.length != numBlocks(n) || absmax2.length != numAbsmaxBlocks(n)) {
      throw new IllegalArgumentException("nf4: parts of " + packed.length + "/" + qabsmax.length + "/" + absmax2.length
          + " do not fit shape " + Arrays.toString(shape) + " (" + packedBytes(n) + "/" + numBlocks(n) + "/" + numAbsmaxBlocks(n) + ")");
    }
    Tensor p = null, q = null, a = null;
    try {
      p = be.allocate(DType.I32, words(packed.length));
      be.upload(p, pack(packed));
      q = be.allocate(DType.I32, words(qabsmax.length));
      be.upload(q, pack(qabsmax));
      a = be.allocate(DType.F32, absmax2.length);
      be.upload(a, absmax2);
      return new Nf4Weight(shape, p, q, a, offset);
    } catch (RuntimeException e) {
      for (Tensor t : new Tensor[] {p, q, a}) if (t != null) t.close();
      throw e;
    }
  }

  private static byte[] bytes(BytePointer p, long n) {
    byte[] b = new byte[Math.toIntExact(n)];
    p.get(b);
    return b;
  }

  private static long words(long bytes) { return Math.max(1, (bytes + 3) / 4); }

  /** Little-endian words, so the words' memory holds the bytes in order. */
  private static int[] pack(byte[] b) {
    int[] w = new int[Math.toIntExact(words(b.length))];
    for (int i = 0; i < b.length; i++) w[i >> 2] |= (b[i] & 0xff) << (8 * (i & 3));
    return w;
  }

  private static byte[] unpack(int[] w, long n) {
    byte[] b = new byte[Math.toIntExact(n)];
    for (int i = 0; i < b.length; i++) b[i] = (byte) (w[i >> 2] >>> (8 * (i & 3)));
    return b;
  }

  public long[] shape() { return shape.clone(); }

  public long numel() { return n; }

  public float offset() { return offset; }

  /** The packed codes (two per byte, high nibble first), copied to the host. */
  public byte[] packedCodes(Backend be) { return unpack(be.downloadInts(packed), packedBytes(n)); }

  /** The 8-bit absmax codes, copied to the host. */
  public byte[] absmaxCodes(Backend be) { return unpack(be.downloadInts(qabsmax), numBlocks(n)); }

  /** The second-level absmax scales, copied to the host. */
  public float[] absmax2(Backend be) { return be.downloadFloats(absmax2); }

  /** Device tensors for backends (I32 words holding u8 codes; see the class comment). */
  public Tensor packedTensor() { return packed; }

  public Tensor absmaxCodesTensor() { return qabsmax; }

  public Tensor absmax2Tensor() { return absmax2; }

  /** Bytes held on the device. */
  public long bytes() { return packed.bytes() + qabsmax.bytes() + absmax2.bytes(); }

  @Override
  public void close() {
    packed.close();
    qabsmax.close();
    absmax2.close();
  }
}
