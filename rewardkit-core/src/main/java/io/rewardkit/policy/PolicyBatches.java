package io.rewardkit.policy;

import io.rewardkit.data.PackedBatch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Packs (prompt, chosen, rejected) token lists into one batch the way data.Packer does (KTO's KL rows, tests that
 * start from token ids): each response's last token is its readout (the EOS). Separate: two sequences per pair;
 * shared prefix: one {@code [prompt | chosen | rejected]} sequence with segments 0/1/2, rejected positions
 * continuing the prompt. {@link #unpack} reads the token lists back out of a packed batch, {@link #klPairs} builds
 * KTO's mismatched rows as TRL's KTOTrainer does.
 */
public final class PolicyBatches {
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

  /**
   * The (prompt, chosen, rejected) token lists of a packed batch's pairs (responses with their EOS), given each
   * pair's prompt length: the inverse of {@link #pack} in either layout.
   */
  static List<int[][]> unpack(PackedBatch b, PolicyTargets t, int[] pairPromptLengths) {
    int[] cu = b.cuSeqlens(), tok = b.tokens();
    List<int[][]> out = new ArrayList<>();
    for (int k = 0; k < b.numPairs(); k++) {
      int c = b.chosen()[k], r = b.rejected()[k];
      int cEnd = b.readout()[c] + 1, rEnd = b.readout()[r] + 1;
      int cStart = cEnd - t.lengths()[c], rStart = rEnd - t.lengths()[r];
      int seq = Arrays.binarySearch(cu, cStart);
      if (seq < 0) seq = -seq - 2;  // the sequence holding the chosen response
      int pStart = cu[seq];
      int[] prompt = Arrays.copyOfRange(tok, pStart, pStart + pairPromptLengths[k]);
      out.add(new int[][] {prompt, Arrays.copyOfRange(tok, cStart, cEnd), Arrays.copyOfRange(tok, rStart, rEnd)});
    }
    return out;
  }

  /**
   * KTO's KL rows as TRL's KTOTrainer builds them within a batch: rows 0..2P-1 are the P chosen then the P rejected
   * completions, row i gets prompt i mod P and the completion of row i - 1 (cyclically): for P > 1 a completion
   * of another prompt's pair; for P = 1 the pair's chosen and rejected swap places. Packed two per prompt: pair k holds rows k
   * and k + P.
   */
  public static List<int[][]> klPairs(List<int[][]> pairs) {
    int n = pairs.size();
    List<int[]> completions = new ArrayList<>();
    for (int[][] p : pairs) completions.add(p[1]);
    for (int[][] p : pairs) completions.add(p[2]);
    List<int[][]> out = new ArrayList<>();
    for (int k = 0; k < n; k++) {
      int[] a = completions.get((k - 1 + 2 * n) % (2 * n)), b = completions.get((k + n - 1) % (2 * n));
      out.add(new int[][] {pairs.get(k)[0], a, b});
    }
    return out;
  }

  /** A bin's KTO KL rows packed in the bin's layout, with their log-prob targets. */
  public record KlBatch(PackedBatch batch, PolicyTargets targets) {}

  /** {@link #klPairs} of the pairs of {@code b} (pair k's prompt has {@code pairPromptLengths[k]} tokens), packed. */
  public static KlBatch klBatch(PackedBatch b, int[] pairPromptLengths, boolean shared) {
    List<int[][]> kl = klPairs(unpack(b, PolicyTargets.of(b, pairPromptLengths), pairPromptLengths));
    PackedBatch kb = pack(kl, shared);
    return new KlBatch(kb, PolicyTargets.of(kb, promptLengths(kl)));
  }
}
