package io.rewardkit.bench;

import io.rewardkit.config.Cmd;
import io.rewardkit.config.OptionValues;
import io.rewardkit.data.DataOptions;
import io.rewardkit.data.DataOptions.Layout;
import io.rewardkit.data.EncodedDataset;
import io.rewardkit.data.EncodedPair;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.data.Packer;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backends;
import io.rewardkit.kernels.Device;
import io.rewardkit.train.ModelAdapter;
import io.rewardkit.train.RunSetup;
import io.rewardkit.train.TrainConfig;
import io.rewardkit.train.TrainingStep;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * End-to-end training throughput: builds the model of a {@link ModelShape} on a backend, feeds it
 * packed pairs for warm-up and timed steps, and reports tokens/s, pairs/s, the spread of the step times,
 * the step-time breakdown by op family, MFU ({@link FlopModel}), peak memory, packing efficiency and the
 * share of the step spent in the JVM rather than in backend ops.
 *
 * <p>What is timed is training's own code: each step is a {@link TrainingStep} (the class {@code train}
 * runs, with train's loss, AdamW settings and clipping from a {@link TrainConfig}) over micro-batches
 * packed by the data pipeline's {@link Packer} in train's layout. The learning rate is constant (a
 * schedule changes a scalar, not the work). Packing is done before timing: the trainer packs an epoch
 * before its steps, and the data pipeline has its own benchmark. Every op goes through
 * {@link TimedBackend}, so the breakdown adds up to the time spent inside the backend; the rest of the
 * wall time is host (JVM) overhead: model code, the optimizer's Java side, JNI crossings. On a GPU that
 * remainder is the time the device idles.
 */
public final class BenchEngine {
  private final BenchModels.Factory factory;
  private final TrainConfig train;

  /** With train's default options (loss, optimizer, clipping, learning rate). */
  public BenchEngine(BenchModels.Factory factory) {
    this(factory, TrainConfig.from(new OptionValues(Cmd.TRAIN)));
  }

  /** Steps as a training run with these options takes them (its loss, AdamW settings, clipping, learning rate). */
  public BenchEngine(BenchModels.Factory factory, TrainConfig train) {
    this.factory = factory;
    this.train = train;
  }

  /** The pairs a run with this config consumes, in order (also what the PyTorch peer trains on). */
  public static List<PairTokens> pairs(BenchConfig c) {
    return pairs(c, c.totalPairs());
  }

  /** The run's first {@code count} pairs (fewer when the dataset holds fewer). */
  static List<PairTokens> pairs(BenchConfig c, int count) {
    if (c.data() != null) return DatasetPairs.load(c.data(), c.tokenizer(), c.dataOptions().withMaxLength(c.maxLength()), count, c.shape().vocabSize());
    return SyntheticPairs.generate(c.profile(), count, c.shape().vocabSize(), c.maxLength(), c.seed());
  }

  /**
   * The run's steps. With {@code --pairs_per_step N}: {@link #plan(BenchConfig, List)}. With 0 (the default), the
   * steps train takes: the pairs are packed as train packs an epoch (its packer, layout, budget and seed) and each
   * step is one budget-filled micro-batch. The pool of pairs grows until it fills a quarter more micro-batches than
   * the run needs, so the steps are not the epoch's under-filled tail.
   */
  public static List<List<PackedBatch>> plan(BenchConfig c) {
    if (!c.trainSteps()) return plan(c, pairs(c));
    int need = c.warmupSteps() + c.steps();
    int count = need * Math.max(16, 2 * c.tokenBudget() / c.maxLength());
    while (true) {
      List<PairTokens> pool = pairs(c, count);
      List<PackedBatch> batches = pack(pool, packing(c), 0);
      boolean exhausted = pool.size() < count;
      if (batches.size() >= need + need / 4 || exhausted) {
        if (batches.size() < need) {
          throw new IllegalArgumentException("the " + pool.size() + " pairs of " + c.pairsSource() + " fill only " + batches.size()
              + " micro-batches of " + c.tokenBudget() + " tokens; --warmup + --steps need " + need);
        }
        List<List<PackedBatch>> steps = new ArrayList<>(need);
        for (int s = 0; s < need; s++) steps.add(List.of(batches.get(s)));
        return steps;
      }
      count *= 2;
    }
  }

  /**
   * Splits the pairs into steps and packs each step's pairs with {@link Packer} (through
   * {@link EncodedDataset#batches}) in the config's layout and token budget; step {@code s} packs with seed
   * {@code seed + s}. Pair {@code i} of the run has id {@code i}.
   */
  public static List<List<PackedBatch>> plan(BenchConfig c, List<PairTokens> pairs) {
    List<List<PackedBatch>> steps = new ArrayList<>();
    for (int s = 0; s < c.warmupSteps() + c.steps(); s++) {
      int from = s * c.pairsPerStep();
      steps.add(pack(pairs.subList(from, from + c.pairsPerStep()), packing(c).withSeed(c.seed() + s), from));
    }
    return steps;
  }

  /** The data options that pack a run's steps: its layout and token budget. */
  static DataOptions packing(BenchConfig c) {
    return c.dataOptions().withLayout(c.sharedPrefix() ? Layout.SHARED_PREFIX : Layout.SEPARATE)
        .withMaxTokensPerBatch(c.tokenBudget()).withSeed(c.seed());
  }

  /** The pairs packed as a training epoch packs them (options' layout, budget, seed); pair k gets id firstPairId + k. */
  public static List<PackedBatch> pack(List<PairTokens> pairs, DataOptions options, long firstPairId) {
    List<EncodedPair> encoded = new ArrayList<>(pairs.size());
    for (int k = 0; k < pairs.size(); k++) {
      PairTokens p = pairs.get(k);
      int size = options.layout() == Layout.SHARED_PREFIX ? p.sharedTokens() : p.rowTokens();
      if (size > options.maxTokensPerBatch()) {
        throw new IllegalArgumentException("pair " + (firstPairId + k) + " needs " + size + " tokens, more than the token budget "
            + options.maxTokensPerBatch() + " (raise --max_tokens_per_batch or lower --max_length)");
      }
      encoded.add(p.toEncoded(firstPairId + k));
    }
    return EncodedDataset.of(encoded, options).batches(0);
  }

  /** The step a run times: train's {@link TrainingStep} built from this engine's training options. */
  TrainingStep trainingStep(ModelAdapter model) {
    return TrainingStep.of(train, model);
  }

  /**
   * Step {@code index} of the run: {@link TrainingStep#run} at the options' learning rate. Returns the step's loss; a
   * non-finite loss or gradient norm stops the run with an IllegalStateException naming the step.
   */
  double step(TrainingStep step, List<PackedBatch> batches, int index) {
    try {
      return step.run(batches, train.learningRate).loss();
    } catch (TrainingStep.NonFinite e) {
      throw new IllegalStateException(e.getMessage() + " at step " + index, e);
    }
  }

  public BenchResult run(BenchConfig c) {
    try (Backend raw = Backends.select(c.device(), c.bf16())) {
      RunSetup.applyThreads(c.threads(), raw);
      boolean cuda = raw.device() == Device.CUDA;
      Ceilings before = measureCeilings(c, cuda);
      List<List<PackedBatch>> plan = plan(c);

      MemoryProbe memory = cuda ? CudaBench.memoryProbe() : new MemoryProbe.Host();
      try (OpClock clock = cuda ? CudaBench.eventClock(raw) : new OpClock.Host()) {
        Backend timed = TimedBackend.wrap(raw, clock, memory);
        memory.reset();
        OpTimes discard = new OpTimes(), measured = new OpTimes();
        long[] stepNanos = new long[c.steps()];
        double firstLoss = Double.NaN, lastLoss = Double.NaN;
        long realTokens = 0, rowTokens = 0, visible = 0, microBatches = 0, timedPairs = 0;
        double flops = 0;
        ModelAdapter model = factory.create(c.shape(), timed, c.seed());
        try {
          TrainingStep step = trainingStep(model);
          clock.flush(discard);
          for (int s = 0; s < plan.size(); s++) {
            List<PackedBatch> batches = plan.get(s);
            boolean timedStep = s >= c.warmupSteps();
            long t0 = System.nanoTime();
            double loss = step(step, batches, s);
            raw.synchronize();
            long dt = System.nanoTime() - t0;
            clock.flush(timedStep ? measured : discard);
            if (s == 0) firstLoss = loss;
            lastLoss = loss;
            if (!timedStep) continue;
            stepNanos[s - c.warmupSteps()] = dt;
            for (PackedBatch b : batches) {
              realTokens += b.numTokens();
              timedPairs += b.numPairs();
              long v = FlopModel.visiblePairs(b);
              visible += v;
              flops += 6.0 * c.shape().nonEmbeddingParameters() * b.numTokens() + FlopModel.attentionTrainingFlops(c.shape(), v);
              microBatches++;
            }
          }
        } finally {
          model.model().close();
        }
        for (int s = c.warmupSteps(); s < plan.size(); s++) {
          for (PackedBatch b : plan.get(s)) rowTokens += pairRowTokens(b);
        }
        long wall = Arrays.stream(stepNanos).sum();
        long peakBytes = memory.peakBytes();
        Ceilings after = measureCeilings(c, cuda);
        return new BenchResult(c, raw.name(), raw.matmulPrecision(), before.max(after), before, after, stepNanos, measured, realTokens, rowTokens, visible,
            microBatches, timedPairs, flops, wall, peakBytes, memory.describe(), MemoryProbe.peakRssBytes(),
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
    m.put("pairs_per_step", c.trainSteps() ? "train (one budget-filled micro-batch per step)" : c.pairsPerStep());
    m.put("max_tokens_per_batch", c.tokenBudget());
    m.put("max_length", c.maxLength());
    m.put("layout", c.sharedPrefix() ? "shared_prefix" : "separate");
    m.put("warmup_steps", c.warmupSteps()); // read by benchmarks/peers/hf_peer.py
    m.put("steps", c.steps());
    m.put("seed", c.seed());
    m.put("threads", c.threads());
    m.put("bf16", c.bf16());
    return m;
  }
}
