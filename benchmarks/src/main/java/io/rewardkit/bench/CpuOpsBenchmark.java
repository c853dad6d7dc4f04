package io.rewardkit.bench;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.RopeTables;
import io.rewardkit.kernels.Tensor;
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
 * The CPU backend's non-attention ops, F32, at the shapes of one Qwen3-0.6B layer (D 1024, F 3072,
 * 16 query heads of 128) over a packed micro-batch of {@code tokens} tokens. Short settings: every op
 * runs in milliseconds, so 2 × 1 s warm-up and 3 × 1 s measurement give stable means.
 *
 * <p>Run: {@code java -cp target/test-classes:target/classes:<test classpath> org.openjdk.jmh.Main CpuOpsBenchmark}.
 * OpenBLAS uses OPENBLAS_NUM_THREADS threads (all cores when unset) and the native kernels OMP_NUM_THREADS.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class CpuOpsBenchmark {
  @Param({"1024"})
  public int tokens;

  static final int DIM = 1024, FFN = 3072, HEADS = 16, HEAD_DIM = 128, VOCAB = 16384, READOUTS = 16;

  Backend cpu;
  Tensor ids, table, dTable, embOut;                // ids [T]; table, dTable [V, D]; embOut [T, D]
  Tensor x, w, dx, dw, linOut, dLinOut;             // x, dx [T, D]; w, dw [F, D]; linOut, dLinOut [T, F]
  Tensor q, positions;                              // q [T, H, hd]; positions [T]
  RopeTables.Uploaded rope;                         // cos, sin [T, hd/2]
  Tensor gate, up, act, dGate, dUp, dAct;           // all [T, F]
  Tensor acc;                                       // [T, D]
  Tensor readout, rewards, dRewards, scoreW, dScoreW, dHidden;  // readout, rewards, dRewards [R]; scoreW, dScoreW [D]; dHidden [T, D]

  @Setup(Level.Trial)
  public void setUp() {
    cpu = new CpuBackend();
    SplittableRandom rng = new SplittableRandom(1);
    int[] idArr = new int[tokens], posArr = new int[tokens];
    for (int t = 0; t < tokens; t++) { idArr[t] = rng.nextInt(VOCAB); posArr[t] = t; }
    ids = Tensor.hostOf(idArr, tokens);
    positions = Tensor.hostOf(posArr, tokens);
    table = random(rng, VOCAB, DIM);
    dTable = Tensor.host(DType.F32, VOCAB, DIM);
    embOut = Tensor.host(DType.F32, tokens, DIM);
    x = random(rng, tokens, DIM);
    w = random(rng, FFN, DIM);
    dx = Tensor.host(DType.F32, tokens, DIM);
    dw = Tensor.host(DType.F32, FFN, DIM);
    linOut = Tensor.host(DType.F32, tokens, FFN);
    dLinOut = random(rng, tokens, FFN);
    q = random(rng, tokens, HEADS, HEAD_DIM);
    rope = RopeTables.build(HEAD_DIM, 1e6, tokens, null).upload(cpu, DType.F32);
    gate = random(rng, tokens, FFN);
    up = random(rng, tokens, FFN);
    act = Tensor.host(DType.F32, tokens, FFN);
    dGate = Tensor.host(DType.F32, tokens, FFN);
    dUp = Tensor.host(DType.F32, tokens, FFN);
    dAct = random(rng, tokens, FFN);
    acc = random(rng, tokens, DIM);
    int[] ro = new int[READOUTS];
    for (int r = 0; r < READOUTS; r++) ro[r] = (r + 1) * tokens / READOUTS - 1;
    readout = Tensor.hostOf(ro, READOUTS);
    rewards = Tensor.host(DType.F32, READOUTS);
    dRewards = random(rng, READOUTS);
    scoreW = random(rng, DIM);
    dScoreW = Tensor.host(DType.F32, DIM);
    dHidden = Tensor.host(DType.F32, tokens, DIM);
  }

  private static Tensor random(SplittableRandom rng, long... shape) {
    Tensor t = Tensor.host(DType.F32, shape);
    float[] v = new float[Math.toIntExact(t.numel())];
    for (int i = 0; i < v.length; i++) v[i] = (float) (rng.nextDouble() * 2 - 1);
    t.f32().put(v);
    return t;
  }

  @TearDown(Level.Trial)
  public void tearDown() { cpu.close(); }

  @Benchmark public void embeddingForward() { cpu.embeddingForward(embOut, ids, table); }
  @Benchmark public void embeddingBackward() { cpu.embeddingBackward(dTable, embOut, ids); }
  /** 2·T·D·F flop: up/gate projection shape. */
  @Benchmark public void linearForward() { cpu.linearForward(linOut, x, w, null); }
  /** 4·T·D·F flop: dx and dw GEMMs. */
  @Benchmark public void linearBackward() { cpu.linearBackward(dx, dw, null, dLinOut, x, w); }
  /** Forward then backward so q stays bounded across invocations. */
  @Benchmark public void ropeForwardBackward() {
    cpu.ropeForward(q, positions, rope.cos(), rope.sin());
    cpu.ropeBackward(q, positions, rope.cos(), rope.sin());
  }
  @Benchmark public void swigluForward() { cpu.swigluForward(act, gate, up); }
  @Benchmark public void swigluBackward() { cpu.swigluBackward(dGate, dUp, dAct, gate, up); }
  @Benchmark public void addInPlace() { cpu.addInPlace(acc, x); }
  @Benchmark public void scoreForward() { cpu.scoreForward(rewards, x, readout, scoreW); }
  @Benchmark public void scoreBackward() { cpu.scoreBackward(dHidden, dScoreW, dRewards, x, readout, scoreW); }
}
