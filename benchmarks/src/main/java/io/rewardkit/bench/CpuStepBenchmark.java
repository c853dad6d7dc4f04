package io.rewardkit.bench;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.CpuBlas;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.ModelConfig;
import io.rewardkit.model.ModelFamily;
import io.rewardkit.model.RewardModel;
import io.rewardkit.model.TestBatches;
import java.time.Instant;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.FloatPointer;

/**
 * One CPU training step (forward + backward) of a Qwen2.5-0.5B-shaped reward model on a packed
 * batch, next to the OpenBLAS sgemm rate measured in the same process. A plain main class rather
 * than JMH: a step takes tens of seconds, so one warm-up and a few timed steps are the whole
 * measurement. Run through {@code benchmarks/cpu-step.sh}.
 *
 * <p>FLOPs per step (documented in benchmarks/RESULTS.md):
 * <ul>
 *   <li>matmuls: {@code 6 · N · T} with N the weights of the q/k/v/o/gate/up/down projections of
 *       all layers (2NT forward, 4NT backward for dx and dw); embedding, norms, biases and the
 *       score head are not counted;
 *   <li>attention: {@code 12 · L · Hq · hd · Σ_s len_s (len_s + 1) / 2} (QKᵀ and PV over the causal
 *       pairs: 4 · hd per pair and head forward, 8 backward).
 * </ul>
 * Elementwise ops (norms, rope, swiglu, adds) are not counted: the figure is "useful GEMM-like
 * FLOP/s", comparable with the sgemm rate.
 *
 * <p>Options: {@code --layers L} (24), {@code --seqs S} (16), {@code --seqlen N} (256),
 * {@code --steps K} (2 timed steps), {@code --warmup W} (1 untimed step first), {@code --sgemm M} (1024).
 */
public final class CpuStepBenchmark {
  private CpuStepBenchmark() {}

  public static void main(String[] args) {
    int layers = 24, seqs = 16, seqlen = 256, steps = 2, warmup = 1, sgemmN = 1024;
    for (int i = 0; i < args.length; i++) {
      String v = i + 1 < args.length ? args[i + 1] : null;
      switch (args[i]) {
        case "--layers" -> { layers = Integer.parseInt(v); i++; }
        case "--seqs" -> { seqs = Integer.parseInt(v); i++; }
        case "--seqlen" -> { seqlen = Integer.parseInt(v); i++; }
        case "--steps" -> { steps = Integer.parseInt(v); i++; }
        case "--warmup" -> { warmup = Integer.parseInt(v); i++; }
        case "--sgemm" -> { sgemmN = Integer.parseInt(v); i++; }
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    // Qwen2.5-0.5B: hidden 896, 14 heads / 2 kv heads (hd 64), MLP 4864, vocab 151936, q/k/v biases.
    ModelConfig cfg = new ModelConfig(ModelFamily.QWEN2, 896, 4864, layers, 14, 2, 64, 1e-6, 1e6, null, 151936, 32768,
        true, false, false, 151643, 0.02, null);
    if (steps < 1 || warmup < 0) throw new IllegalArgumentException("--steps must be >= 1 and --warmup >= 0");
    int t = seqs * seqlen;

    System.out.printf(Locale.ROOT, "date: %s%n", Instant.now());
    System.out.printf(Locale.ROOT, "cpus: %d, OPENBLAS_NUM_THREADS=%s, OMP_NUM_THREADS=%s%n",
        Runtime.getRuntime().availableProcessors(), System.getenv("OPENBLAS_NUM_THREADS"), System.getenv("OMP_NUM_THREADS"));
    try (CpuBackend cpu = new CpuBackend()) {
      CpuBlas.load();
      double sgemmBefore = sgemmGflops(sgemmN);
      System.out.printf(Locale.ROOT, "sgemm %d^3: %.1f GFLOP/s%n", sgemmN, sgemmBefore);

      long t0 = System.nanoTime();
      try (RewardModel model = RewardModel.randomInit(cfg, cpu, DType.F32, 0)) {
        System.out.printf(Locale.ROOT, "model: qwen2 %d layers, %,d parameters, init %.1f s%n", layers,
            model.numParameters(), (System.nanoTime() - t0) / 1e9);
        PackedBatch batch = batch(seqs, seqlen, cfg.vocabSize());
        long n = 0;
        for (var p : model.parameters()) {
          if (p.weight().rank() == 2 && p.hfName().startsWith("model.layers.")) n += p.numel();
        }
        double matmulFlops = 6.0 * n * t;
        double pairs = 0;
        for (int s = 0; s < seqs; s++) pairs += (double) seqlen * (seqlen + 1) / 2;
        double attnFlops = 12.0 * layers * cfg.numAttentionHeads() * cfg.headDim() * pairs;
        double flops = matmulFlops + attnFlops;

        Tensor dRewards = Tensor.host(DType.F32, batch.numReadouts());
        for (int r = 0; r < batch.numReadouts(); r++) dRewards.setDouble(r, r % 2 == 0 ? -0.5 : 0.5);

        double[] total = new double[steps];
        for (int step = 0; step < warmup + steps; step++) {
          model.zeroGrad();
          long a = System.nanoTime();
          model.forward(batch);
          long b = System.nanoTime();
          model.backward(dRewards);
          long c = System.nanoTime();
          double f = (b - a) / 1e9, bw = (c - b) / 1e9;
          boolean warm = step < warmup;
          if (!warm) total[step - warmup] = f + bw;
          System.out.printf(Locale.ROOT, "step %d%s: forward %.2f s, backward %.2f s, total %.2f s%n", step,
              warm ? " (warm-up)" : step == 0 ? " (first step: includes allocating activation buffers)" : "", f, bw, f + bw);
        }
        Arrays.sort(total);
        double best = total[0], median = total[steps / 2];
        double sgemmAfter = sgemmGflops(sgemmN);
        System.out.printf(Locale.ROOT, "sgemm %d^3 after: %.1f GFLOP/s%n", sgemmN, sgemmAfter);
        System.out.printf(Locale.ROOT, "tokens %d (%d x %d), N(non-embedding matmul weights) %,d%n", t, seqs, seqlen, n);
        System.out.printf(Locale.ROOT, "FLOPs/step: matmul %.3e + attention %.3e = %.3e%n", matmulFlops, attnFlops, flops);
        System.out.printf(Locale.ROOT, "activation buffers: %.2f GiB; weights+grads: %.2f GiB%n",
            model.activationBytes() / 1073741824.0, 2.0 * model.weights().bytes() / 1073741824.0);
        System.out.printf(Locale.ROOT, "RESULT step best %.2f s, median %.2f s; %.1f GFLOP/s (best), %.1f (median); "
                + "%.0f tokens/s; sgemm %.1f / %.1f GFLOP/s before/after%n",
            best, median, flops / best / 1e9, flops / median / 1e9, t / best, sgemmBefore, sgemmAfter);
      }
    }
  }

  /** 16 (by default) independent sequences of random tokens, a readout at each end, paired up. */
  static PackedBatch batch(int seqs, int seqlen, int vocab) {
    int t = seqs * seqlen;
    SplittableRandom rng = new SplittableRandom(1);
    int[] tokens = new int[t], positions = new int[t], cu = new int[seqs + 1], readout = new int[seqs];
    for (int i = 0; i < t; i++) {
      tokens[i] = rng.nextInt(vocab);
      positions[i] = i % seqlen;
    }
    for (int s = 0; s < seqs; s++) {
      cu[s + 1] = (s + 1) * seqlen;
      readout[s] = (s + 1) * seqlen - 1;
    }
    return TestBatches.pairedInOrder(tokens, positions, cu, null, seqlen, readout);
  }

  /** Best of a few n³ sgemm runs, in GFLOP/s. */
  static double sgemmGflops(int n) {
    FloatPointer a = new FloatPointer((long) n * n), b = new FloatPointer((long) n * n), c = new FloatPointer((long) n * n);
    for (long i = 0; i < (long) n * n; i++) {
      a.put(i, (float) Math.sin(i));
      b.put(i, (float) Math.cos(i));
    }
    double best = Double.MAX_VALUE;
    for (int rep = 0; rep < 5; rep++) {
      long s = System.nanoTime();
      io.rewardkit.kernels.CpuBlas.sgemm(false, false, false, n, n, n, 1f, a, n, b, n, 0f, c, n);  // the striped GEMM training runs
      best = Math.min(best, (System.nanoTime() - s) / 1e9);
    }
    a.close();
    b.close();
    c.close();
    return 2.0 * n * n * n / best / 1e9;
  }
}
