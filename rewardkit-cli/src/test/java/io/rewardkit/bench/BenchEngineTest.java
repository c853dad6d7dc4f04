package io.rewardkit.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.data.DataOptions;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.train.ModelAdapter;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The engine's accounting, on a tiny model trained by the real step. */
class BenchEngineTest {
  static final ModelShape TINY = new ModelShape("tiny", "qwen2", 64, 2, 4, 2, 96, 500, true, 10000.0, 1e-6, 4096, false);

  private static BenchConfig config(int warmup, int steps) {
    // --threads 0: the test leaves the process-wide thread count as it is (other tests in this JVM depend on it)
    return new BenchConfig(TINY, "cpu", LengthProfile.HH_RLHF, null, null, 8, 2048, 512, true,
        warmup, steps, 42, 0, 64, DataOptions.defaults(), 0);
  }

  @Test
  void countsOnlyTimedStepsAndAccountsEveryToken() {
    BenchConfig c = config(2, 3);
    BenchResult r = new BenchEngine(BenchModels::full).run(c);

    List<List<PackedBatch>> plan = BenchEngine.plan(c);
    long timedTokens = 0, timedBatches = 0;
    for (int s = 2; s < 5; s++) {
      for (PackedBatch b : plan.get(s)) {
        timedTokens += b.numTokens();
        timedBatches++;
      }
    }
    assertEquals(timedTokens, r.realTokens());
    assertEquals(timedBatches, r.microBatches());
    assertEquals(3, r.stepNanos().length);
    assertEquals(timedBatches, r.ops().asMap().get("loss.fwd+bwd")[1], "one loss per timed micro-batch; warm-up ops are not counted");
    assertEquals(3, r.ops().asMap().get("optimizer.grad_norm")[1], "one gradient norm per timed step");
    assertTrue(r.rowTokens() > r.realTokens(), "the prompt counts twice as padded rows");
    assertEquals(3.0 * 8 / r.seconds(), r.pairsPerSecond(), 1e-9);
    assertTrue(r.packingEfficiency() > 0 && r.packingEfficiency() <= 1);
    assertTrue(r.hostShare() >= 0 && r.hostShare() <= 1);
    assertTrue(r.peakBytes() > 0);
    // Rewards start near 0 (init std 0.02), so the pairwise loss starts near ln 2.
    assertEquals(Math.log(2), r.firstLoss(), 0.05);
    assertTrue(Double.isFinite(r.lastLoss()) && r.lastLoss() != r.firstLoss());
    assertTrue(r.stepPercentileMs(0) <= r.stepPercentileMs(25) && r.stepPercentileMs(25) <= r.medianStepMs()
        && r.medianStepMs() <= r.stepPercentileMs(75) && r.stepPercentileMs(75) <= r.stepPercentileMs(100));

    Map<String, Object> json = r.toMap();
    assertTrue(((Map<?, ?>) json.get("breakdown")).containsKey("rmsnorm"));
    assertTrue(((Map<?, ?>) json.get("breakdown")).containsKey("host_jvm"));
    assertTrue(((Map<?, ?>) json.get("throughput")).containsKey("step_ms_iqr"));
    String table = r.table();
    assertTrue(table.contains("real tokens/s") && table.contains("rmsnorm") && table.contains("IQR"), table);
  }

  @Test
  void trainStepsAreTheFirstBudgetFilledMicroBatchesOfTrainsPacking() {
    BenchConfig c = new BenchConfig(TINY, "cpu", LengthProfile.HH_RLHF, null, null, 0, 2048, 512, true,
        2, 5, 42, 0, 64, DataOptions.defaults(), 0);
    List<List<PackedBatch>> plan = BenchEngine.plan(c);
    assertEquals(7, plan.size());
    // the pool plan() settled on, packed as train packs an epoch: the steps are its first micro-batches, one each
    int pool = 7 * Math.max(16, 2 * 2048 / 512);
    List<PackedBatch> epoch = null;
    for (int n = pool; epoch == null || epoch.size() < 7 + 7 / 4; n *= 2) {
      epoch = BenchEngine.pack(BenchEngine.pairs(c, n), BenchEngine.packing(c), 0);
    }
    long filled = 0;
    for (int s = 0; s < 7; s++) {
      assertEquals(1, plan.get(s).size(), "one micro-batch per step");
      PackedBatch b = plan.get(s).get(0);
      assertTrue(b.numTokens() <= 2048);
      assertTrue(java.util.Arrays.equals(epoch.get(s).tokens(), b.tokens()), "step " + s + " is train's micro-batch " + s);
      filled += b.numTokens();
    }
    assertTrue(filled > 0.9 * 7 * 2048, "budget-filled: " + filled + " of " + 7 * 2048 + " token slots");
    assertThrows(IllegalStateException.class, c::totalPairs);
  }

  @Test
  void percentilesInterpolateBetweenSortedSteps() {
    BenchResult r = new BenchResult(config(0, 4), "cpu", "fp32", null, null, null, new long[] {4_000_000, 1_000_000, 3_000_000, 2_000_000},
        new OpTimes(), 1000, 1000, 0, 4, 32, 0, 10_000_000, 0, "", -1, 0, 0);
    assertEquals(1.0, r.stepPercentileMs(0), 1e-12);
    assertEquals(4.0, r.stepPercentileMs(100), 1e-12);
    assertEquals(2.5, r.medianStepMs(), 1e-12);
    assertEquals(1.75, r.stepPercentileMs(25), 1e-12);
    assertEquals(3.25, r.stepPercentileMs(75), 1e-12);
    assertEquals(1.5, r.stepIqrMs(), 1e-12);
    assertEquals(250 / 2.5e-3, r.medianTokensPerSecond(), 1e-6);
  }

  @Test
  void aNonFiniteLossStopsTheRun() {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> new BenchEngine((shape, backend, seed) -> {
          ModelAdapter m = BenchModels.full(shape, backend, seed);
          float[] nan = new float[(int) m.weightArena().numel()];
          java.util.Arrays.fill(nan, Float.NaN);
          backend.upload(m.weightArena(), nan);
          return m;
        }).run(config(0, 1)));
    assertTrue(e.getMessage().contains("loss is NaN at step 0"), e.getMessage());
  }

  @Test
  void pairRowTokensCountThePromptTwice() {
    PackedBatch b = OneBatch.of(List.of(new PairTokens(new int[5], new int[2], new int[3])), true);
    assertEquals(15, BenchEngine.pairRowTokens(b));
    PackedBatch s = OneBatch.of(List.of(new PairTokens(new int[5], new int[2], new int[3])), false);
    assertEquals(15, BenchEngine.pairRowTokens(s));
  }

  @Test
  void configRejectsAMaxLengthOverTheBudget() {
    assertThrows(IllegalArgumentException.class, () -> new BenchConfig(ModelShape.QWEN25_05B, "cpu",
        LengthProfile.HH_RLHF, null, null, 8, 1000, 600, false, 0, 1, 1, 0, 64));
  }
}
