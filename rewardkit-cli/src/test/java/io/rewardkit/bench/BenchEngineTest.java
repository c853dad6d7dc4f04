package io.rewardkit.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The engine's accounting, driven by a stand-in step that runs one real backend op per micro-batch. */
class BenchEngineTest {

  private static BenchConfig config(int warmup, int steps) {
    return new BenchConfig(ModelShape.QWEN25_05B.withLayers(1), "cpu", LengthProfile.HH_RLHF, null, null, 8, 2048, 512, true,
        warmup, steps, 42, 0, 64);
  }

  /** Normalises a [T, 64] buffer per micro-batch and records what it was given. */
  private static final class NormStep implements TrainStep {
    final Backend backend;
    final List<Integer> tokensSeen = new ArrayList<>();
    double loss = 0.7;

    NormStep(Backend backend) { this.backend = backend; }

    @Override public double run(List<PackedBatch> batches) {
      for (PackedBatch b : batches) {
        Tensor x = backend.allocate(DType.F32, b.numTokens(), 64);
        Tensor out = backend.allocate(DType.F32, b.numTokens(), 64), rstd = backend.allocate(DType.F32, b.numTokens());
        Tensor w = backend.allocate(DType.F32, 64);
        backend.rmsnormForward(out, rstd, x, w, 1e-6);
        tokensSeen.add(b.numTokens());
      }
      return loss -= 0.1;
    }
  }

  @Test
  void countsOnlyTimedStepsAndAccountsEveryToken() {
    BenchConfig c = config(2, 3);
    List<NormStep> made = new ArrayList<>();
    BenchResult r = new BenchEngine((shape, backend, seed) -> {
      NormStep s = new NormStep(backend);
      made.add(s);
      return s;
    }).run(c);

    List<List<PackedBatch>> plan = BenchEngine.plan(c, BenchEngine.pairs(c));
    long timedTokens = 0, timedBatches = 0;
    for (int s = 2; s < 5; s++) {
      for (PackedBatch b : plan.get(s)) {
        timedTokens += b.numTokens();
        timedBatches++;
      }
    }
    int allBatches = plan.stream().mapToInt(List::size).sum();
    assertEquals(allBatches, made.get(0).tokensSeen.size(), "every planned micro-batch ran");
    assertEquals(timedTokens, r.realTokens());
    assertEquals(timedBatches, r.microBatches());
    assertEquals(3, r.stepNanos().length);
    assertEquals(timedBatches, r.ops().asMap().get("rmsnorm.fwd")[1], "warm-up ops are not counted");
    assertTrue(r.rowTokens() > r.realTokens(), "the prompt counts twice as padded rows");
    assertEquals(3.0 * 8 / r.seconds(), r.pairsPerSecond(), 1e-9);
    assertTrue(r.packingEfficiency() > 0 && r.packingEfficiency() <= 1);
    assertTrue(r.hostShare() >= 0 && r.hostShare() <= 1);
    assertTrue(r.peakBytes() > 0);
    assertEquals(0.6, r.firstLoss(), 1e-12);
    assertEquals(0.2, r.lastLoss(), 1e-12);

    Map<String, Object> json = r.toMap();
    assertTrue(((Map<?, ?>) json.get("breakdown")).containsKey("rmsnorm"));
    assertTrue(((Map<?, ?>) json.get("breakdown")).containsKey("host_jvm"));
    String table = r.table();
    assertTrue(table.contains("real tokens/s") && table.contains("rmsnorm"), table);
  }

  @Test
  void aNonFiniteLossStopsTheRun() {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> new BenchEngine((shape, backend, seed) -> batches -> Double.NaN).run(config(0, 1)));
    assertTrue(e.getMessage().contains("loss is NaN"), e.getMessage());
  }

  @Test
  void pairRowTokensCountThePromptTwice() {
    PackedBatch b = PairPacker.batch(List.of(new PairTokens(new int[5], new int[2], new int[3])), true, 0);
    assertEquals(15, BenchEngine.pairRowTokens(b));
    PackedBatch s = PairPacker.batch(List.of(new PairTokens(new int[5], new int[2], new int[3])), false, 0);
    assertEquals(15, BenchEngine.pairRowTokens(s));
  }

  @Test
  void configRejectsAMaxLengthOverTheBudget() {
    assertThrows(IllegalArgumentException.class, () -> new BenchConfig(ModelShape.QWEN25_05B, "cpu",
        LengthProfile.HH_RLHF, null, null, 8, 1000, 600, false, 0, 1, 1, 0, 64));
  }
}
