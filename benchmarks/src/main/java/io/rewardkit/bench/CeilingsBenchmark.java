package io.rewardkit.bench;

import io.rewardkit.kernels.CpuBlas;
import io.rewardkit.kernels.CudaSupport;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's ceilings, measured in the same JMH run as the ops they normalise: OpenBLAS sgemm (n³)
 * and memcpy on CPU; on a GPU ({@code gpu*} benchmarks, no-ops without one) cuBLASLt bf16 GEMM and a
 * device-to-device copy, timed with device events.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xss16m"})
@State(Scope.Thread)
public class CeilingsBenchmark {

  /** M=N=K of the GEMM. */
  @Param({"2048"})
  public int n;

  /** Bytes per copy. */
  @Param({"268435456"})
  public long copyBytes;

  private FloatPointer a, b, c;
  private BytePointer src, dst;

  @Setup(Level.Trial)
  public void setup() {
    CpuBlas.load();
    long nn = (long) n * n;
    a = new FloatPointer(nn);
    b = new FloatPointer(nn);
    c = new FloatPointer(nn);
    for (long i = 0; i < nn; i++) {
      a.put(i, (i % 17) / 17f - 0.5f);
      b.put(i, (i % 13) / 13f - 0.5f);
    }
    src = new BytePointer(copyBytes);
    dst = new BytePointer(copyBytes);
    Pointer.memset(src, 3, copyBytes);
    Pointer.memset(dst, 0, copyBytes);
  }

  /** FLOP/s = 2n³ / time. */
  @Benchmark
  public void cpuSgemm() {
    io.rewardkit.kernels.CpuBlas.sgemm(false, false, false, n, n, n, 1f, a, n, b, n, 0f, c, n);  // the striped GEMM training runs
  }

  /** bytes/s = 2·copyBytes / time (read + write). */
  @Benchmark
  public void cpuMemcpy() {
    Pointer.memcpy(dst, src, copyBytes);
  }

  /** GPU buffers; created only when a GPU is present (the CUDA presets cannot load without a driver). */
  @State(Scope.Thread)
  public static class Gpu {
    @Param({"8192"})
    public int gpuN;

    @Param({"1073741824"})
    public long gpuCopyBytes;

    CudaBench.DeviceCall gemm, copy;
    OpClock clock;
    final OpTimes times = new OpTimes();

    @Setup(Level.Trial)
    public void setup() {
      if (!CudaSupport.probe().available()) return;
      gemm = CudaBench.ltBf16Gemm(gpuN);
      copy = CudaBench.deviceCopy(gpuCopyBytes);
      clock = CudaBench.legacyStreamClock();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      if (gemm == null) return;
      gemm.close();
      copy.close();
      clock.close();
    }
  }

  /** cuBLASLt bf16 gpuN³ GEMM: FLOP/s = 2·gpuN³ / (deviceNanos / deviceCalls). No-op without a GPU. */
  @Benchmark
  public void gpuLtGemm(Gpu g, DeviceTime t) {
    if (g.gemm == null) return;
    t.time(g.clock, g.times, "ceiling", g.gemm::run);
  }

  /** Device-to-device copy: bytes/s = 2·gpuCopyBytes / (deviceNanos / deviceCalls). No-op without a GPU. */
  @Benchmark
  public void gpuCopy(Gpu g, DeviceTime t) {
    if (g.copy == null) return;
    t.time(g.clock, g.times, "ceiling", g.copy::run);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    a.close();
    b.close();
    c.close();
    src.close();
    dst.close();
  }
}
