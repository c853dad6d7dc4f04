package io.rewardkit.kernels;

import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;

/**
 * A dense, row-major block of memory on one backend's device, with a dtype and a shape.
 *
 * <p>A tensor is either the owner of an allocation or a view into one (see {@link #view}); a view
 * keeps its owner reachable so the memory lives as long as any view of it. Memory is released by
 * the owner's {@link #close()} or, failing that, by JavaCPP's deallocator when it is collected.
 * Host tensors (CPU backend) can be read and written directly; device tensors only through their
 * backend.
 */
public final class Tensor implements AutoCloseable {
  private final Pointer base;     // the allocation (owner's pointer); position 0
  private final Tensor owner;     // null for an owner
  private final long offset;      // in elements of dtype, from base
  private final DType dtype;
  private final long[] shape;
  private final Device device;

  private Tensor(Pointer base, Tensor owner, long offset, DType dtype, long[] shape, Device device) {
    this.base = base;
    this.owner = owner;
    this.offset = offset;
    this.dtype = dtype;
    this.shape = shape.clone();
    this.device = device;
    for (long d : shape) {
      if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
    }
  }

  /** Wraps an allocation that this tensor owns. */
  public static Tensor wrap(Pointer allocation, DType dtype, Device device, long... shape) {
    return new Tensor(allocation, null, 0, dtype, shape, device);
  }

  /** Allocates a zero-filled host tensor (CPU memory). */
  public static Tensor host(DType dtype, long... shape) {
    long n = numel(shape);
    Pointer p = switch (dtype) {
      case F32 -> new FloatPointer(Math.max(1, n));
      case F64 -> new DoublePointer(Math.max(1, n));
      case I32 -> new IntPointer(Math.max(1, n));
      case BF16 -> new ShortPointer(Math.max(1, n));
    };
    Pointer.memset(p, 0, Math.max(1, n) * dtype.bytes());
    return wrap(p, dtype, Device.CPU, shape);
  }

  public static Tensor hostOf(float[] data, long... shape) {
    checkLength(data.length, shape);
    Tensor t = host(DType.F32, shape);
    t.f32().put(data);
    return t;
  }

  public static Tensor hostOf(double[] data, long... shape) {
    checkLength(data.length, shape);
    Tensor t = host(DType.F64, shape);
    t.f64().put(data);
    return t;
  }

  public static Tensor hostOf(int[] data, long... shape) {
    checkLength(data.length, shape);
    Tensor t = host(DType.I32, shape);
    t.i32().put(data);
    return t;
  }

  private static void checkLength(int length, long[] shape) {
    if (numel(shape) != length) {
      throw new IllegalArgumentException("data length " + length + " does not match shape " + Arrays.toString(shape));
    }
  }

  public static long numel(long... shape) {
    long n = 1;
    for (long d : shape) n = Math.multiplyExact(n, d);
    return n;
  }

  public DType dtype() { return dtype; }
  public Device device() { return device; }
  public long[] shape() { return shape.clone(); }
  public int rank() { return shape.length; }
  public long dim(int i) { return shape[i < 0 ? shape.length + i : i]; }
  public long numel() { return numel(shape); }
  public long bytes() { return numel() * dtype.bytes(); }
  /** Offset of this view from the start of its allocation, in elements. */
  public long offset() { return offset; }

  /** The tensor that owns this view's memory (this tensor when it is an owner). */
  public Tensor allocation() { return owner == null ? this : owner; }

  /** Raw address of the first element (host or device). */
  public long address() { return base.address() + offset * dtype.bytes(); }

  /** A view of {@code numel(shape)} elements starting {@code elementOffset} elements into this tensor. */
  public Tensor view(long elementOffset, long... newShape) {
    if (elementOffset < 0 || elementOffset + numel(newShape) > numel()) {
      throw new IndexOutOfBoundsException("view [" + elementOffset + ", +" + numel(newShape) + ") outside tensor of "
          + numel() + " elements");
    }
    return new Tensor(base, owner == null ? this : owner, offset + elementOffset, dtype, newShape, device);
  }

  /** The same elements with another shape. */
  public Tensor reshape(long... newShape) {
    if (numel(newShape) != numel()) {
      throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " to " + Arrays.toString(newShape));
    }
    return view(0, newShape);
  }

  private <P extends Pointer> P typed(DType expected, P fresh) {
    if (dtype != expected) throw new IllegalStateException("tensor is " + dtype + ", not " + expected);
    fresh.position(0);
    return fresh;
  }

  // JavaCPP passes address + position * sizeof(element) to native code; each call returns a fresh
  // pointer object so callers never disturb each other's position.
  public FloatPointer f32() { return typed(DType.F32, new FloatPointer(base)).position(offset); }
  public DoublePointer f64() { return typed(DType.F64, new DoublePointer(base)).position(offset); }
  public IntPointer i32() { return typed(DType.I32, new IntPointer(base)).position(offset); }
  public ShortPointer bf16() { return typed(DType.BF16, new ShortPointer(base)).position(offset); }
  /** Untyped pointer at this view's first byte. */
  public BytePointer bytePointer() { return new BytePointer(base).position(offset * dtype.bytes()); }

  private void requireHost() {
    if (device != Device.CPU) throw new IllegalStateException("tensor lives on " + device + "; copy it through its backend");
  }

  public float[] toFloatArray() {
    requireHost();
    float[] out = new float[Math.toIntExact(numel())];
    switch (dtype) {
      case F32 -> f32().get(out);
      case F64 -> { double[] d = toDoubleArray(); for (int i = 0; i < out.length; i++) out[i] = (float) d[i]; }
      default -> throw new IllegalStateException("toFloatArray on " + dtype);
    }
    return out;
  }

  public double[] toDoubleArray() {
    requireHost();
    double[] out = new double[Math.toIntExact(numel())];
    switch (dtype) {
      case F64 -> f64().get(out);
      case F32 -> { float[] f = new float[out.length]; f32().get(f); for (int i = 0; i < out.length; i++) out[i] = f[i]; }
      default -> throw new IllegalStateException("toDoubleArray on " + dtype);
    }
    return out;
  }

  public int[] toIntArray() {
    requireHost();
    int[] out = new int[Math.toIntExact(numel())];
    i32().get(out);
    return out;
  }

  /** Host only: element i (flat index) as double. */
  public double getDouble(long i) {
    requireHost();
    return switch (dtype) {
      case F32 -> f32().get(i);
      case F64 -> f64().get(i);
      case I32 -> i32().get(i);
      case BF16 -> Float.intBitsToFloat((bf16().get(i) & 0xffff) << 16);
    };
  }

  /** Host only: sets element i (flat index). */
  public void setDouble(long i, double value) {
    requireHost();
    switch (dtype) {
      case F32 -> f32().put(i, (float) value);
      case F64 -> f64().put(i, value);
      case I32 -> i32().put(i, (int) value);
      case BF16 -> bf16().put(i, (short) (Float.floatToRawIntBits((float) value) >>> 16));
    }
  }

  /** Releases the allocation now if this tensor owns it; a no-op on views. */
  @Override
  public void close() {
    if (owner == null) base.close();
  }

  @Override
  public String toString() {
    return "Tensor(" + dtype + Arrays.toString(shape) + " on " + device + ")";
  }
}
