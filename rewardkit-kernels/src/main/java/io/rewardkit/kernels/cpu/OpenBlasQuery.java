package io.rewardkit.kernels.cpu;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FunctionPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * OpenBLAS's own introspection functions ({@code openblas_get_num_threads}, {@code openblas_get_corename}) and {@code openblas_set_num_threads},
 * which the Bytedeco preset leaves unmapped because its API must also fit MKL. They are looked up by
 * symbol in the already-loaded OpenBLAS and called through function pointers.
 */
@Properties(inherit = RewardKitCpu.class, value = @Platform(library = "jnirewardkit_cpu"))
public final class OpenBlasQuery {
  static { Loader.load(); }
  private OpenBlasQuery() {}

  /** {@code int (*)(void)}. */
  public static class IntFunction extends FunctionPointer {
    static { Loader.load(); }
    public IntFunction(Pointer p) { super(p); }
    protected IntFunction() { allocate(); }
    private native void allocate();
    public native int call();
    public native Pointer get();
    public native IntFunction put(Pointer address);
  }

  /** {@code char* (*)(void)}. */
  public static class StringFunction extends FunctionPointer {
    static { Loader.load(); }
    public StringFunction(Pointer p) { super(p); }
    protected StringFunction() { allocate(); }
    private native void allocate();
    public native @Cast("char*") BytePointer call();
    public native Pointer get();
    public native StringFunction put(Pointer address);
  }

  /** {@code void (*)(int)}. */
  public static class IntConsumer extends FunctionPointer {
    static { Loader.load(); }
    public IntConsumer(Pointer p) { super(p); }
    protected IntConsumer() { allocate(); }
    private native void allocate();
    public native void call(int n);
    public native Pointer get();
    public native IntConsumer put(Pointer address);
  }

  /** Sets OpenBLAS's thread count ({@code openblas_set_num_threads}); false when the symbol is not loaded. */
  public static boolean setNumThreads(int n) {
    Pointer address = Loader.addressof("openblas_set_num_threads");
    if (address == null) return false;
    new IntConsumer().put(address).call(n);
    return true;
  }

  /** OpenBLAS's thread count, or -1 when the symbol is not loaded (call after loading OpenBLAS). */
  public static int numThreads() {
    Pointer address = Loader.addressof("openblas_get_num_threads");
    return address == null ? -1 : new IntFunction().put(address).call();
  }

  /** The CPU kernel set OpenBLAS picked at run time (e.g. {@code Haswell}), or null when not loaded. */
  public static String coreName() {
    Pointer address = Loader.addressof("openblas_get_corename");
    if (address == null) return null;
    BytePointer name = new StringFunction().put(address).call();
    return name == null ? null : name.getString();
  }
}
