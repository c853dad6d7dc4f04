package io.rewardkit.kernels.cuda;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Namespace;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;

/**
 * Binding of {@code rewardkit/cuda/runtime.h}: probe, device memory, stream. Device pointers and
 * the stream are raw addresses ({@code long}); host buffers are JavaCPP pointers.
 */
@Properties(inherit = RewardKitCuda.class, value = @Platform(include = "rewardkit/cuda/runtime.h", library = "jnirewardkit_cuda"))
@Namespace("rk::cuda")
public final class CudaRuntime {
  static { Loader.load(); }
  private CudaRuntime() {}

  public static native int probe(@Cast("char*") BytePointer buf, @Cast("int64_t") long capacity);
  public static native int built_with_cuda();
  public static native void set_device(int device);
  public static native @Cast("uintptr_t") long device_malloc(@Cast("int64_t") long bytes);
  public static native void device_free(@Cast("void*") long ptr);
  public static native void memcpy_h2d(@Cast("void*") long dst, @Cast("const void*") Pointer src,
      @Cast("int64_t") long bytes, @Cast("void*") long stream);
  public static native void memcpy_d2h(@Cast("void*") Pointer dst, @Cast("const void*") long src,
      @Cast("int64_t") long bytes, @Cast("void*") long stream);
  public static native void memcpy_d2d(@Cast("void*") long dst, @Cast("const void*") long src,
      @Cast("int64_t") long bytes, @Cast("void*") long stream);
  public static native void memset_async(@Cast("void*") long dst, int value, @Cast("int64_t") long bytes,
      @Cast("void*") long stream);
  public static native @Cast("uintptr_t") long stream_create();
  public static native void stream_destroy(@Cast("void*") long stream);
  public static native void stream_synchronize(@Cast("void*") long stream);
  public static native void check_errors(String where);
}
