package io.rewardkit.policy;

import io.rewardkit.data.PackedBatch;
import java.util.List;

/**
 * Packs (prompt, chosen, rejected) token lists into one batch the way data.Packer does, for tests that start from
 * token ids: each response's last token is its readout (the EOS). Separate: two sequences per pair; shared prefix:
 * one {@code [prompt | chosen | rejected]} sequence with segments 0/1/2, rejected positions continuing the prompt.
 */
final class PolicyBatches {
  private PolicyBatches() {}

  static PackedBatch pack(List<int[][]> pairs, boolean shared) {
    int total = 0;
    for (int[][] p : pairs) total += shared ? p[0].length + p[1].length + p[2].length
        : 2 * p[0].length + p[1].length + p[2].length;
    int n = pairs.size();
    int[] tokens = new int[total], positions = new int[total], segments = shared ? new int[total] : null;
    int[] cu = new int[(shared ? n : 2 * n) + 1], readout = new int[2 * n], chosen = new int[n], rejected = new int[n];
    int t = 0, s = 0, maxSeq = 0;
    for (int k = 0; k < n; k++) {
      int[] prompt = pairs.get(k)[0];
      if (shared) {
        int start = t;
        for (int side = 0; side < 3; side++) {
          int[] part = pairs.get(k)[side];
          for (int i = 0; i < part.length; i++, t++) {
            tokens[t] = part[i];
            positions[t] = side == 0 ? i : prompt.length + i;
            segments[t] = side;
          }
          if (side > 0) readout[2 * k + side - 1] = t - 1;
        }
        cu[++s] = t;
        maxSeq = Math.max(maxSeq, t - start);
      } else {
        for (int side = 1; side <= 2; side++) {
          int start = t;
          for (int[] part : new int[][] {prompt, pairs.get(k)[side]}) for (int x : part) tokens[t++] = x;
          for (int i = start; i < t; i++) positions[i] = i - start;
          readout[2 * k + side - 1] = t - 1;
          cu[++s] = t;
          maxSeq = Math.max(maxSeq, t - start);
        }
      }
      chosen[k] = 2 * k;
      rejected[k] = 2 * k + 1;
    }
    return new PackedBatch(tokens, positions, cu, segments, maxSeq, readout, chosen, rejected, new float[n], new long[n],
        new int[n]);
  }

  static int[] promptLengths(List<int[][]> pairs) {
    return pairs.stream().mapToInt(p -> p[0].length).toArray();
  }
}
