package io.rewardkit.bench;

import io.rewardkit.kernels.CpuBlas;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.kernels.cpu.CpuThreads;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
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
 * The bf16 GEMM (AVX512-BF16, fp32 accumulation) vs OpenBLAS sgemm, both striped over our OpenMP threads, called
 * exactly as CpuBackend's linear calls them: forward {@code y[T,O] = x[T,I]·w[O,I]ᵀ} (NT), {@code dX[T,I] =
 * dY[T,O]·w[O,I]} (NN) and {@code dW[O,I] += dY[T,O]ᵀ·x[T,I]} (TN, beta 1). {@code linear} is "out x in" of a
 * Qwen2.5-0.5B decoder linear (q/o 896x896, k/v 128x896, gate/up 4864x896, down 896x4864) or of the tiny Qwen2
 * (gate/up 352x128); GFLOP/s = 2·T·O·I / time. Run: {@code benchmarks/run-jmh.sh Bf16Gemm}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class Bf16GemmBenchmark {
  @Param({"896x896", "128x896", "4864x896", "896x4864", "352x128"})
  public String linear;

  @Param({"fwd", "dx", "dw"})
  public String pass;

  @Param({"fp32", "bf16"})
  public String precision;

  @Param({"1", "2"})
  public int threads;

  @Param({"2048"})
  public int tokens;

  int t, o, i;
  boolean bf16;
  Tensor x, w, y, dy, dx, dw;

  @Setup(Level.Trial)
  public void setUp() {
    CpuBlas.load();
    bf16 = precision.equals("bf16");
    if (bf16 && !CpuBlas.bf16Supported()) throw new IllegalStateException("this CPU has no AVX512-BF16");
    String[] oi = linear.split("x");
    t = tokens;
    o = Integer.parseInt(oi[0]);
    i = Integer.parseInt(oi[1]);
    SplittableRandom rng = new SplittableRandom(1);
    x = random(rng, t, i);
    w = random(rng, o, i);
    y = Tensor.host(DType.F32, t, o);
    dy = random(rng, t, o);
    dx = Tensor.host(DType.F32, t, i);
    dw = Tensor.host(DType.F32, o, i);
  }

  @Setup(Level.Iteration)
  public void threads() {
    CpuThreads.set(threads);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    for (Tensor z : new Tensor[] {x, w, y, dy, dx, dw}) z.close();
  }

  @Benchmark
  public void gemm() {
    switch (pass) {
      case "fwd" -> {
        if (bf16) CpuBlas.bf16Gemm(false, false, true, t, o, i, 1f, x.f32(), i, w.f32(), i, 0f, y.f32(), o);
        else CpuBlas.sgemm(false, false, true, t, o, i, 1f, x.f32(), i, w.f32(), i, 0f, y.f32(), o);
      }
      case "dx" -> {
        if (bf16) CpuBlas.bf16Gemm(false, false, false, t, i, o, 1f, dy.f32(), o, w.f32(), i, 0f, dx.f32(), i);
        else CpuBlas.sgemm(false, false, false, t, i, o, 1f, dy.f32(), o, w.f32(), i, 0f, dx.f32(), i);
      }
      default -> {
        if (bf16) CpuBlas.bf16Gemm(true, true, false, o, i, t, 1f, dy.f32(), o, x.f32(), i, 1f, dw.f32(), i);
        else CpuBlas.sgemm(true, true, false, o, i, t, 1f, dy.f32(), o, x.f32(), i, 1f, dw.f32(), i);
      }
    }
  }

  private static Tensor random(SplittableRandom rng, long... shape) {
    Tensor tt = Tensor.host(DType.F32, shape);
    float[] v = new float[(int) tt.numel()];
    for (int k = 0; k < v.length; k++) v[k] = (float) (rng.nextGaussian() * 0.5);
    tt.f32().put(v);
    return tt;
  }
}
