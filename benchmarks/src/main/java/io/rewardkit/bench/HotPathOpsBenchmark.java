package io.rewardkit.bench;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backends;
import io.rewardkit.kernels.Device;
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
 * Every hot-path op, forward and backward ({@link OpCases}), on one decoder layer's tensors of a
 * registered {@link ModelShape} at a token budget. {@code device=cuda} runs the CUDA backend and times
 * each call with device events (reported as the secondary counters {@code deviceNanos}/{@code deviceCalls});
 * the host-side score then includes a synchronise per call. {@code benchmarks/report.sh} turns the JSON
 * into GB/s or FLOP/s against the ceilings of {@link CeilingsBenchmark} from the same run.
 *
 * <p>Run through {@code benchmarks/run-jmh.sh}; the defaults here are the affordable CPU point
 * (Qwen2.5-0.5B, 2048 tokens).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xss16m"})
@State(Scope.Thread)
public class HotPathOpsBenchmark {

  @Param({"embedding.fwd", "embedding.bwd", "rmsnorm.fwd", "rmsnorm.bwd",
      "linear_qkv.fwd", "linear_qkv.bwd", "linear_o.fwd", "linear_o.bwd",
      "linear_up.fwd", "linear_up.bwd", "linear_down.fwd", "linear_down.bwd",
      "rope.fwd", "rope.bwd", "attention.fwd", "attention.bwd", "swiglu.fwd", "swiglu.bwd",
      "add.fwd", "score.fwd", "score.bwd", "loss.fwd+bwd", "optimizer.adamw", "optimizer.grad_norm",
      "residual_rmsnorm.fwd", "residual_rmsnorm_unfused.fwd", "rmsnorm_acc.bwd", "rmsnorm_acc_unfused.bwd",
      "add3.fwd", "add3_unfused.fwd"})
  public String op;

  @Param({"Qwen2.5-0.5B"})
  public String shape;

  @Param({"2048"})
  public int tokens;

  /** Sequence length the packed tokens are cut into (attention, rope, score, loss). */
  @Param({"512"})
  public int seqlen;

  @Param({"cpu"})
  public String device;

  private Backend backend;
  private OpCases.Case call;
  private OpClock clock;
  private final OpTimes times = new OpTimes();

  @Setup(Level.Trial)
  public void setup() {
    backend = Backends.select(device);
    if (backend.device() == Device.CUDA) clock = CudaBench.eventClock(backend);
    call = OpCases.create(op, backend, ModelShape.byName(shape), tokens, seqlen, 1234);
    backend.synchronize();
  }

  @Benchmark
  public void run(DeviceTime t) {
    if (clock == null) {
      call.run();
      return;
    }
    t.time(clock, times, op, call::run);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    if (clock != null) clock.close();
    backend.close();
  }
}
