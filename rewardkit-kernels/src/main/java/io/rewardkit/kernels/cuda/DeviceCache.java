package io.rewardkit.kernels.cuda;

import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Device;
import io.rewardkit.kernels.Tensor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.Pointer;

/**
 * Caching allocator behind {@link CudaBackend#allocate}: a closed tensor's block goes back to a
 * free list keyed by its rounded size and is handed out again, so a training loop that allocates
 * and closes the same shapes every step stops calling cudaMalloc after the first step. Reuse is
 * safe without synchronisation because every kernel runs on the backend's one stream, in order.
 * Tensors that are never closed keep their block until the backend closes.
 */
final class DeviceCache implements AutoCloseable {
  private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
  private final List<Long> all = new ArrayList<>();
  private long mallocs;
  private boolean closed;

  /** Rounded sizes: 256-byte steps up to 1 MiB, then 1 MiB steps (bounded waste, few classes). */
  static long roundUp(long bytes) {
    long b = Math.max(bytes, 1);
    long step = b <= (1L << 20) ? 256 : (1L << 20);
    return (b + step - 1) / step * step;
  }

  private final class Block extends Pointer {
    private final long size;
    private boolean released;

    Block(long address, long size) {
      this.address = address;
      this.size = size;
      this.limit = size;
      this.capacity = size;
    }

    @Override
    public void close() {
      synchronized (DeviceCache.this) {
        if (released || closed) return;
        released = true;
        free.computeIfAbsent(size, k -> new ArrayDeque<>()).push(address);
      }
    }
  }

  synchronized Tensor allocate(DType dtype, long... shape) {
    if (closed) throw new IllegalStateException("the CUDA backend is closed");
    long size = roundUp(Tensor.numel(shape) * dtype.bytes());
    ArrayDeque<Long> list = free.get(size);
    long addr;
    if (list != null && !list.isEmpty()) {
      addr = list.pop();
    } else {
      addr = CudaRuntime.device_malloc(size);
      mallocs++;
      all.add(addr);
    }
    return Tensor.wrap(new Block(addr, size), dtype, Device.CUDA, shape);
  }

  synchronized long mallocCount() { return mallocs; }

  @Override
  public synchronized void close() {
    if (closed) return;
    closed = true;
    for (long a : all) CudaRuntime.device_free(a);
    all.clear();
    free.clear();
  }
}
