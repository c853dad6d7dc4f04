package io.rewardkit.bench;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backends;
import io.rewardkit.kernels.Device;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * End-to-end training throughput: builds the model of a {@link ModelShape} on a backend, feeds it
 * packed synthetic pairs for warm-up and timed steps, and reports tokens/s, pairs/s, the step-time
 * breakdown by op family, MFU ({@link FlopModel}), peak memory, packing efficiency and the share of
 * the step spent in the JVM rather than in backend ops.
 *
 * <p>Packing is done before timing: the trainer packs on a background thread, and the data pipeline
 * has its own benchmark. Every op goes through {@link TimedBackend}, so the breakdown adds up to the
 * time spent inside the backend; the rest of the wall time is host (JVM) overhead: model code, the
 * optimizer loop's Java side, JNI crossings. On a GPU that remainder is the time the device idles.
 */
public final class BenchEngine {
  private final TrainStep.Factory factory;

  public BenchEngine(TrainStep.Factory factory) {
    this.factory = factory;
  }

  /** The pairs a run with this config consumes, in order (also what the PyTorch peer trains on). */
  public static List<PairTokens> pairs(BenchConfig c) {
    if (c.data() != null) return DatasetPairs.load(c.data(), c.tokenizer(), c.dataOptions().withMaxLength(c.maxLength()), c.totalPairs(), c.shape().vocabSize());
    return SyntheticPairs.generate(c.profile(), c.totalPairs(), c.shape().vocabSize(), c.maxLength(), c.seed());
  }

  /** Splits the pairs into steps and each step into micro-batches. */
  public static List<List<PackedBatch>> plan(BenchConfig c, List<PairTokens> pairs) {
    List<List<PackedBatch>> steps = new ArrayList<>();
    for (int s = 0; s < c.warmupSteps() + c.steps(); s++) {
      int from = s * c.pairsPerStep();
      steps.add(PairPacker.pack(pairs.subList(from, from + c.pairsPerStep()), c.tokenBudget(), c.sharedPrefix(), from,
          c.seed() + s));
    }
    return steps;
  }

  public BenchResult run(BenchConfig c) {
    try (Backend raw = Backends.select(c.device())) {
      boolean cuda = raw.device() == Device.CUDA;
      Ceilings before = measureCeilings(c, cuda);
      List<List<PackedBatch>> plan = plan(c, pairs(c));

      MemoryProbe memory = cuda ? CudaBench.memoryProbe() : new MemoryProbe.Host();
      try (OpClock clock = cuda ? CudaBench.eventClock(raw) : new OpClock.Host()) {
        Backend timed = TimedBackend.wrap(raw, clock, memory);
        memory.reset();
        OpTimes discard = new OpTimes(), measured = new OpTimes();
        long[] stepNanos = new long[c.steps()];
        double firstLoss = Double.NaN, lastLoss = Double.NaN;
        long realTokens = 0, rowTokens = 0, visible = 0, microBatches = 0;
        double flops = 0;
        try (TrainStep step = factory.create(c.shape(), timed, c.seed())) {
          clock.flush(discard);
          for (int s = 0; s < plan.size(); s++) {
            List<PackedBatch> batches = plan.get(s);
            boolean timedStep = s >= c.warmupSteps();
            long t0 = System.nanoTime();
            double loss = step.run(batches);
            raw.synchronize();
            long dt = System.nanoTime() - t0;
            clock.flush(timedStep ? measured : discard);
            if (!Double.isFinite(loss)) throw new IllegalStateException("loss is " + loss + " at step " + s);
            if (s == 0) firstLoss = loss;
            lastLoss = loss;
            if (!timedStep) continue;
            stepNanos[s - c.warmupSteps()] = dt;
            for (PackedBatch b : batches) {
              realTokens += b.numTokens();
              long v = FlopModel.visiblePairs(b);
              visible += v;
              flops += 6.0 * c.shape().nonEmbeddingParameters() * b.numTokens() + FlopModel.attentionTrainingFlops(c.shape(), v);
              microBatches++;
            }
          }
        }
        for (int s = c.warmupSteps(); s < plan.size(); s++) {
          for (PackedBatch b : plan.get(s)) rowTokens += pairRowTokens(b);
        }
        long wall = Arrays.stream(stepNanos).sum();
        long peakBytes = memory.peakBytes();
        Ceilings after = measureCeilings(c, cuda);
        return new BenchResult(c, raw.name(), before.max(after), before, after, stepNanos, measured, realTokens, rowTokens, visible,
            microBatches, flops, wall, peakBytes, memory.describe(), MemoryProbe.peakRssBytes(),
            firstLoss, lastLoss);
      }
    }
  }

  /** Ceilings are measured before and after the timed steps (the run reports both and uses the higher). */
  private static Ceilings measureCeilings(BenchConfig c, boolean cuda) {
    return cuda
        ? CudaBench.measure(Math.max(c.gemmSize(), 4096), 10, 1L << 30, c.peakTflops() * 1e12)
        : Ceilings.measureCpu(c.gemmSize(), 3, 256L << 20);
  }

  /**
   * Tokens the same pairs take as the padding trainer's rows (prompt+chosen, prompt+rejected), without
   * the padding: what the peer counts as real tokens.
   */
  static long pairRowTokens(PackedBatch b) {
    if (!b.sharedPrefix()) return b.numTokens();
    long t = 0;
    int[] cu = b.cuSeqlens(), seg = b.segmentIds();
    for (int s = 0; s + 1 < cu.length; s++) {
      long prompt = 0, rest = 0;
      for (int i = cu[s]; i < cu[s + 1]; i++) {
        if (seg[i] == 0) prompt++;
        else rest++;
      }
      t += 2 * prompt + rest;
    }
    return t;
  }

  /** Ordered key/value view of a config, for the JSON report (under the options' names). */
  static Map<String, Object> describe(BenchConfig c) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("shape", c.shape().name());
    m.put("device", c.device());
    m.put("lengths", c.pairsSource());
    m.put("pairs_per_step", c.pairsPerStep());
    m.put("max_tokens_per_batch", c.tokenBudget());
    m.put("max_length", c.maxLength());
    m.put("layout", c.sharedPrefix() ? "shared_prefix" : "separate");
    m.put("warmup_steps", c.warmupSteps()); // read by benchmarks/peers/hf_peer.py
    m.put("steps", c.steps());
    m.put("seed", c.seed());
    return m;
  }
}
