package io.rewardkit.bench;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backends;
import java.util.Arrays;
import java.util.Locale;

/**
 * The fused residual ops of issue 17 against the unfused calls they replace ({@link OpCases}' pairs
 * {@code residual_rmsnorm}, {@code rmsnorm_acc}, {@code add3}), alternating call by call in one process (which goes
 * first flips every repetition), so load that comes and goes hits both alike. Prints min and median µs per call, the
 * speed-up at each, and the fused op's GB/s at its minimum (the bytes of {@link OpCases#cost}).
 *
 * <p>Usage: {@code java -cp benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)
 * io.rewardkit.bench.FusedResidualAB [shape] [tokens] [reps]} (defaults Qwen2.5-0.5B, 2048, 400; a shape is a
 * {@link ModelShape} name or a config.json).
 */
public final class FusedResidualAB {
  private FusedResidualAB() {}

  public static void main(String[] args) {
    ModelShape shape = ModelShape.byName(args.length > 0 ? args[0] : "Qwen2.5-0.5B");
    int tokens = args.length > 1 ? Integer.parseInt(args[1]) : 2048;
    int reps = args.length > 2 ? Integer.parseInt(args[2]) : 400;
    int seqlen = Math.min(512, tokens);
    try (Backend b = Backends.select("cpu")) {
      for (String op : new String[] {"residual_rmsnorm.fwd", "rmsnorm_acc.bwd", "add3.fwd"}) {
        String unfusedOp = op.replace(".", "_unfused.");
        OpCases.Case[] cases = {OpCases.create(op, b, shape, tokens, seqlen, 1), OpCases.create(unfusedOp, b, shape, tokens, seqlen, 1)};
        long[][] ns = new long[2][reps];
        for (int r = -20; r < reps; r++) {
          for (int k = 0; k < 2; k++) {
            int v = (r & 1) == 0 ? k : 1 - k;
            long t0 = System.nanoTime();
            cases[v].run();
            long dt = System.nanoTime() - t0;
            if (r >= 0) ns[v][r] = dt;
          }
        }
        for (long[] s : ns) Arrays.sort(s);
        double bytes = OpCases.cost(op, shape, tokens, seqlen, 4).bytes();
        System.out.printf(Locale.ROOT, "%-21s %s T=%d D=%d | fused min %.0f med %.0f us | unfused min %.0f med %.0f us"
                + " | speed-up min %.2fx med %.2fx | fused %.1f GB/s at min%n", op, shape.name(), tokens, shape.hiddenSize(),
            ns[0][0] / 1e3, ns[0][reps / 2] / 1e3, ns[1][0] / 1e3, ns[1][reps / 2] / 1e3,
            (double) ns[1][0] / ns[0][0], (double) ns[1][reps / 2] / ns[0][reps / 2], bytes / ns[0][0]);
      }
    }
  }
}
