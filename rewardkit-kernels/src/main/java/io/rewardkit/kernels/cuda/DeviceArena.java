package io.rewardkit.kernels.cuda;

import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Device;
import io.rewardkit.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.Pointer;

/**
 * A bump allocator over large cudaMalloc'd chunks. Parameters, gradients and optimizer state each
 * live in one arena (allocated once); activations live in an arena that is {@link #reset} every
 * step, so after the first (warm-up) step no cudaMalloc happens. Tensors handed out are views of
 * the chunk: closing them is a no-op; memory goes back only when the arena is closed.
 */
public final class DeviceArena implements AutoCloseable {
  /** 256 bytes: cudaMalloc's alignment; keeps every tensor 16-byte aligned for vector loads. */
  static final long ALIGN = 256;

  private final String name;
  private final long chunkBytes;
  private final List<long[]> chunks = new ArrayList<>();  // {address, capacity}
  private int current = -1;
  private long used;        // bytes used in chunks[current]
  private long mallocs;
  private boolean closed;

  DeviceArena(String name, long chunkBytes) {
    this.name = name;
    this.chunkBytes = chunkBytes;
  }

  /** A raw device address wrapped as a JavaCPP pointer without a deallocator. */
  static final class DevicePointer extends Pointer {
    DevicePointer(long address, long bytes) {
      this.address = address;
      this.limit = bytes;
      this.capacity = bytes;
    }
  }

  public String name() { return name; }

  /** Number of cudaMalloc calls this arena made so far (constant after warm-up). */
  public long mallocCount() { return mallocs; }

  /** Bytes reserved on the device. */
  public long reservedBytes() {
    long n = 0;
    for (long[] c : chunks) n += c[1];
    return n;
  }

  /** Zero-initialisation is the caller's business (the backend zeroes on its stream). */
  public Tensor allocate(DType dtype, long... shape) {
    return Tensor.wrap(new DevicePointer(allocateBytes(Tensor.numel(shape) * dtype.bytes()),
        Tensor.numel(shape) * dtype.bytes()), dtype, Device.CUDA, shape);
  }

  long allocateBytes(long bytes) {
    if (closed) throw new IllegalStateException("arena '" + name + "' is closed");
    long need = Math.max(ALIGN, (bytes + ALIGN - 1) / ALIGN * ALIGN);
    // First fit in the current or a later (already reserved) chunk, so a reset arena reuses memory.
    while (current >= 0 && current < chunks.size()) {
      long[] c = chunks.get(current);
      if (used + need <= c[1]) {
        long addr = c[0] + used;
        used += need;
        return addr;
      }
      if (current + 1 < chunks.size()) { current++; used = 0; } else break;
    }
    long cap = Math.max(chunkBytes, need);
    long addr = CudaRuntime.device_malloc(cap);
    mallocs++;
    chunks.add(new long[] {addr, cap});
    current = chunks.size() - 1;
    used = need;
    return addr;
  }

  /** Forgets every allocation (tensors from before must no longer be used); keeps the memory. */
  public void reset() {
    current = chunks.isEmpty() ? -1 : 0;
    used = 0;
  }

  @Override
  public void close() {
    if (closed) return;
    closed = true;
    for (long[] c : chunks) CudaRuntime.device_free(c[0]);
    chunks.clear();
  }
}
