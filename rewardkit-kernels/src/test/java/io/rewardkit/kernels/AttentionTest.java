package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.kernels.cpu.CpuThreads;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Varlen causal attention with GQA and the shared-prefix segment rule: forward against a naive
 * float64 softmax, backward against float64 central differences and a dense reference backward,
 * and the shared-prefix pack [p|c|r] against the two separate sequences [p|c], [p|r].
 */
class AttentionTest {
  private final Backend cpu = new CpuBackend();

  /** A pack: sequence lengths, segment ids (null: plain causal) and head shape. */
  record Case(String name, int[] lens, int[] seg, int hq, int hkv, int hd) {
    int tokens() { return Arrays.stream(lens).sum(); }
    int[] cu() {
      int[] cu = new int[lens.length + 1];
      for (int s = 0; s < lens.length; s++) cu[s + 1] = cu[s] + lens[s];
      return cu;
    }
    VarlenLayout layout() {
      int max = Arrays.stream(lens).max().orElse(0);
      return new VarlenLayout(Tensor.hostOf(cu(), lens.length + 1), seg == null ? null : Tensor.hostOf(seg, seg.length),
          lens.length, tokens(), max);
    }
    double scale() { return 1 / Math.sqrt(hd); }
    @Override public String toString() { return name; }
  }

  /** Segments [0.. | 1.. | 2..] per sequence: prompt of >= 1 token, responses of >= 1 token when room allows. */
  static int[] promptChosenRejected(SplittableRandom rng, int... lens) {
    List<Integer> seg = new ArrayList<>();
    for (int n : lens) {
      int prompt = n <= 2 ? n : 1 + rng.nextInt(n - 2);
      int chosen = n - prompt <= 1 ? n - prompt : 1 + rng.nextInt(n - prompt - 1);
      for (int t = 0; t < n; t++) seg.add(t < prompt ? 0 : t < prompt + chosen ? 1 : 2);
    }
    return seg.stream().mapToInt(Integer::intValue).toArray();
  }

  /** Arbitrary segment ids in {0, 1, 2} in any order: the rule must hold for any pattern. */
  static int[] randomSegments(SplittableRandom rng, int tokens) {
    int[] seg = new int[tokens];
    for (int t = 0; t < tokens; t++) seg[t] = rng.nextInt(3);
    return seg;
  }

  static Stream<Case> forwardCases() {
    SplittableRandom rng = new SplittableRandom(11);
    return Stream.of(
        new Case("one token", new int[] {1}, null, 2, 2, 8),
        new Case("odd lengths, empty sequence, GQA 7", new int[] {5, 1, 9, 0, 3}, null, 7, 1, 64),
        new Case("segments crossing tiles, hd 80", new int[] {70, 33}, promptChosenRejected(rng, 70, 33), 4, 2, 80),
        new Case("long plain sequence, hd 128", new int[] {130}, null, 4, 1, 128),
        new Case("segments with 1-token responses", new int[] {100, 1, 67, 3}, promptChosenRejected(rng, 100, 1, 67, 3), 7, 1, 64),
        new Case("random segment pattern", new int[] {40, 25}, randomSegments(rng, 65), 2, 1, 16),
        // Tile boundaries of the blocked kernel (32 query rows x 64 keys): lengths around 32, 64, 128.
        new Case("tile-boundary lengths 63/64/65/1/31/32/33, hd 32", new int[] {63, 64, 65, 1, 31, 32, 33}, null, 4, 2, 32),
        new Case("tile-boundary lengths with segments, GQA 3, hd 16", new int[] {65, 1, 129, 64},
            promptChosenRejected(rng, 65, 1, 129, 64), 6, 2, 16),
        new Case("128/127 tokens, hd 64, GQA 4", new int[] {128, 127}, promptChosenRejected(rng, 128, 127), 8, 2, 64),
        new Case("1-token sequences and responses, hd 128", new int[] {1, 3, 1, 2, 66},
            promptChosenRejected(rng, 1, 3, 1, 2, 66), 2, 1, 128),
        new Case("odd head dim 24, lengths 65/2", new int[] {65, 2}, null, 3, 1, 24),
        new Case("rejected rows blind to a whole key tile that chosen rows of their block see, hd 16",
            new int[] {200, 9}, concat(segments(10, 140, 50), segments(3, 3, 3)), 4, 2, 16));
  }

  /** Segment ids of one [prompt | chosen | rejected] sequence. */
  static int[] segments(int prompt, int chosen, int rejected) {
    int[] seg = new int[prompt + chosen + rejected];
    for (int t = 0; t < seg.length; t++) seg[t] = t < prompt ? 0 : t < prompt + chosen ? 1 : 2;
    return seg;
  }

  static int[] concat(int[] a, int[] b) {
    int[] c = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }

  /** The awkward shapes again, for float32 against float64 (the float path has its own exp). */
  static Stream<Case> float32Cases() {
    SplittableRandom rng = new SplittableRandom(13);
    return Stream.of(
        new Case("63/64/65/1, hd 32, GQA 2", new int[] {63, 64, 65, 1}, promptChosenRejected(rng, 63, 64, 65, 1), 4, 2, 32),
        new Case("129/33, hd 16, GQA 7", new int[] {129, 33}, promptChosenRejected(rng, 129, 33), 7, 1, 16),
        new Case("200, hd 128, GQA 1", new int[] {200}, null, 2, 2, 128),
        new Case("97/1/31, hd 80, GQA 3", new int[] {97, 1, 31}, promptChosenRejected(rng, 97, 1, 31), 6, 2, 80),
        new Case("random segments 70/5, hd 64", new int[] {70, 5}, randomSegments(rng, 75), 4, 2, 64),
        // Query block [128, 160) holds chosen rows 128..149 and rejected rows 150..159; key tile [64, 128) is all
        // chosen: the rejected rows see none of it while the chosen rows of their block do.
        new Case("rejected rows blind to a whole key tile, hd 32", new int[] {200}, segments(10, 140, 50), 2, 1, 32));
  }

  static Stream<Arguments> gradCases() {
    SplittableRandom rng = new SplittableRandom(12);
    return Stream.of(
        Arguments.of(new Case("GQA 7, hd 64, lengths 1/5/9", new int[] {1, 5, 9}, null, 7, 1, 64), 150),
        Arguments.of(new Case("GQA 2, hd 128, segments", new int[] {3, 4}, promptChosenRejected(rng, 3, 4), 4, 2, 128), 120),
        Arguments.of(new Case("GQA 1, hd 80, segments, lengths 7/1/2", new int[] {7, 1, 2},
            promptChosenRejected(rng, 7, 1, 2), 2, 2, 80), 150),
        Arguments.of(new Case("GQA 7, hd 80, segments", new int[] {5, 3}, promptChosenRejected(rng, 5, 3), 7, 1, 80), 120),
        Arguments.of(new Case("GQA 2, hd 64, 70 tokens across tiles", new int[] {70, 3},
            promptChosenRejected(rng, 70, 3), 4, 2, 64), 200),
        Arguments.of(new Case("single token, hd 128", new int[] {1}, null, 2, 1, 128), 300),
        Arguments.of(new Case("random segment pattern", new int[] {9, 6}, randomSegments(rng, 15), 4, 2, 64), 150),
        Arguments.of(new Case("GQA 3, hd 16, 65 tokens across a key tile, 1-token sequence", new int[] {65, 1},
            promptChosenRejected(rng, 65, 1), 6, 2, 16), 150),
        Arguments.of(new Case("GQA 2, hd 32, 33 tokens across a query block", new int[] {33, 2}, null, 2, 1, 32), 150));
  }

  // ---- reference ------------------------------------------------------------------------------

  /** Dense float64 attention of one pack: {out [T,Hq,hd], lse [Hq,T]}, the masked softmax materialised. */
  static double[][] naiveForward(Case c, double[] q, double[] k, double[] v) {
    int tokens = c.tokens(), hq = c.hq(), hkv = c.hkv(), hd = c.hd();
    double[] out = new double[tokens * hq * hd], lse = new double[hq * tokens];
    for (int h = 0; h < hq; h++) {
      int g = h / (hq / hkv);
      for (int i = 0; i < tokens; i++) {
        double[] p = probabilities(c, q, k, h, g, i);
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int j = 0; j < tokens; j++) if (visible(c, i, j)) max = Math.max(max, score(c, q, k, h, g, i, j));
        for (int j = 0; j < tokens; j++) if (visible(c, i, j)) sum += Math.exp(score(c, q, k, h, g, i, j) - max);
        lse[h * tokens + i] = max + Math.log(sum);
        for (int j = 0; j < tokens; j++) {
          for (int d = 0; d < hd; d++) out[(i * hq + h) * hd + d] += p[j] * v[(j * hkv + g) * hd + d];
        }
      }
    }
    return new double[][] {out, lse};
  }

  /**
   * Dense float64 backward from the definition: with P the masked softmax and dP = dO·vᵀ,
   * dS_ij = P_ij (dP_ij − Σ_l P_il dP_il); dq = scale dS k, dk = scale dSᵀ q, dv = Pᵀ dO.
   */
  static double[][] naiveBackward(Case c, double[] q, double[] k, double[] v, double[] dOut) {
    int tokens = c.tokens(), hq = c.hq(), hkv = c.hkv(), hd = c.hd();
    double[] dq = new double[q.length], dk = new double[k.length], dv = new double[v.length];
    for (int h = 0; h < hq; h++) {
      int g = h / (hq / hkv);
      for (int i = 0; i < tokens; i++) {
        double[] p = probabilities(c, q, k, h, g, i);
        double[] dp = new double[tokens];
        double rowDot = 0;
        for (int j = 0; j < tokens; j++) {
          for (int d = 0; d < hd; d++) dp[j] += dOut[(i * hq + h) * hd + d] * v[(j * hkv + g) * hd + d];
          rowDot += p[j] * dp[j];
        }
        for (int j = 0; j < tokens; j++) {
          double ds = p[j] * (dp[j] - rowDot);
          for (int d = 0; d < hd; d++) {
            dq[(i * hq + h) * hd + d] += c.scale() * ds * k[(j * hkv + g) * hd + d];
            dk[(j * hkv + g) * hd + d] += c.scale() * ds * q[(i * hq + h) * hd + d];
            dv[(j * hkv + g) * hd + d] += p[j] * dOut[(i * hq + h) * hd + d];
          }
        }
      }
    }
    return new double[][] {dq, dk, dv};
  }

  private static double[] probabilities(Case c, double[] q, double[] k, int h, int g, int i) {
    int tokens = c.tokens();
    double[] p = new double[tokens];
    double max = Double.NEGATIVE_INFINITY, sum = 0;
    for (int j = 0; j < tokens; j++) if (visible(c, i, j)) max = Math.max(max, score(c, q, k, h, g, i, j));
    for (int j = 0; j < tokens; j++) if (visible(c, i, j)) sum += p[j] = Math.exp(score(c, q, k, h, g, i, j) - max);
    for (int j = 0; j < tokens; j++) p[j] /= sum;
    return p;
  }

  private static double score(Case c, double[] q, double[] k, int h, int g, int i, int j) {
    double s = 0;
    for (int d = 0; d < c.hd(); d++) s += q[(i * c.hq() + h) * c.hd() + d] * k[(j * c.hkv() + g) * c.hd() + d];
    return s * c.scale();
  }

  /** The rule stated from VarlenLayout's javadoc, written independently of the kernel. */
  private static boolean visible(Case c, int i, int j) {
    int[] cu = c.cu();
    int si = 0, sj = 0;
    while (cu[si + 1] <= i) si++;
    while (cu[sj + 1] <= j) sj++;
    if (si != sj || j > i) return false;
    return c.seg() == null || c.seg()[j] == 0 || c.seg()[j] == c.seg()[i];
  }

  // ---- helpers --------------------------------------------------------------------------------

  private record Io(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {}

  private static Io inputs(Case c, SplittableRandom rng, double amplitude) {
    int tokens = c.tokens();
    return new Io(GradCheck.random(rng, amplitude, tokens, c.hq(), c.hd()),
        GradCheck.random(rng, amplitude, tokens, c.hkv(), c.hd()),
        GradCheck.random(rng, 1.0, tokens, c.hkv(), c.hd()),
        Tensor.host(DType.F64, tokens, c.hq(), c.hd()), Tensor.host(DType.F64, c.hq(), tokens));
  }

  /** A tensor full of junk, to prove that backward overwrites instead of accumulating. */
  private static Tensor junk(DType dtype, long... shape) {
    Tensor t = Tensor.host(dtype, shape);
    for (long i = 0; i < t.numel(); i++) t.setDouble(i, 1e3 + i);
    return t;
  }

  private static void assertClose(String what, double[] expected, double[] actual, double tol) {
    assertEquals(expected.length, actual.length, what + ": length");
    double worst = 0;
    int at = -1;
    for (int i = 0; i < expected.length; i++) {
      if (Double.isNaN(expected[i]) || Double.isNaN(actual[i])) {  // a NaN must fail, not hide behind later errors
        fail(what + ": NaN at " + i + " (expected " + expected[i] + ", got " + actual[i] + ")");
      }
      double err = Math.abs(expected[i] - actual[i]);
      if (!(err <= worst)) { worst = err; at = i; }
    }
    if (at >= 0) {
      assertTrue(worst <= tol, what + ": max abs error " + worst + " at " + at + " (expected " + expected[at]
          + ", got " + actual[at] + "), tolerance " + tol);
    }
  }

  private static Tensor toF32(Tensor t) { return Tensor.hostOf(t.toFloatArray(), t.shape()); }

  // ---- tests ----------------------------------------------------------------------------------

  @ParameterizedTest(name = "{0}")
  @MethodSource("forwardCases")
  void forwardAndBackwardMatchDenseReference(Case c) {
    SplittableRandom rng = new SplittableRandom(c.tokens() * 31L + c.hd());
    Io io = inputs(c, rng, 2.0);
    VarlenLayout layout = c.layout();
    cpu.attentionForward(io.out(), io.lse(), io.q(), io.k(), io.v(), layout, c.scale());
    double[][] ref = naiveForward(c, io.q().toDoubleArray(), io.k().toDoubleArray(), io.v().toDoubleArray());
    assertClose("out", ref[0], io.out().toDoubleArray(), 1e-12);
    assertClose("lse", ref[1], io.lse().toDoubleArray(), 1e-12);

    Tensor dOut = GradCheck.random(rng, 1.0, c.tokens(), c.hq(), c.hd());
    Tensor dq = junk(DType.F64, c.tokens(), c.hq(), c.hd());
    Tensor dk = junk(DType.F64, c.tokens(), c.hkv(), c.hd());
    Tensor dv = junk(DType.F64, c.tokens(), c.hkv(), c.hd());
    cpu.attentionBackward(dq, dk, dv, dOut, io.q(), io.k(), io.v(), io.out(), io.lse(), layout, c.scale());
    double[][] grads = naiveBackward(c, io.q().toDoubleArray(), io.k().toDoubleArray(), io.v().toDoubleArray(),
        dOut.toDoubleArray());
    assertClose("dq", grads[0], dq.toDoubleArray(), 1e-11);
    assertClose("dk", grads[1], dk.toDoubleArray(), 1e-11);
    assertClose("dv", grads[2], dv.toDoubleArray(), 1e-11);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("gradCases")
  void backwardMatchesFiniteDifferences(Case c, int maxProbes) {
    SplittableRandom rng = new SplittableRandom(c.tokens() * 131L + c.hq() * 7L + c.hd());
    Io io = inputs(c, rng, 1.5);
    VarlenLayout layout = c.layout();
    Tensor g = GradCheck.random(rng, 1.0, c.tokens(), c.hq(), c.hd());
    Runnable forward = () -> cpu.attentionForward(io.out(), io.lse(), io.q(), io.k(), io.v(), layout, c.scale());
    forward.run();
    Tensor dq = junk(DType.F64, c.tokens(), c.hq(), c.hd());
    Tensor dk = junk(DType.F64, c.tokens(), c.hkv(), c.hd());
    Tensor dv = junk(DType.F64, c.tokens(), c.hkv(), c.hd());
    cpu.attentionBackward(dq, dk, dv, g, io.q(), io.k(), io.v(), io.out(), io.lse(), layout, c.scale());

    double[] gArr = g.toDoubleArray();  // bulk copies: per-element Tensor access dominates otherwise
    java.util.function.DoubleSupplier loss = () -> {
      forward.run();
      double[] out = io.out().toDoubleArray();
      double sum = 0;
      for (int i = 0; i < out.length; i++) sum += gArr[i] * out[i];
      return sum;
    };
    GradCheck.check("attention dq", io.q(), dq, loss, maxProbes, 1);
    GradCheck.check("attention dk", io.k(), dk, loss, maxProbes, 2);
    GradCheck.check("attention dv", io.v(), dv, loss, maxProbes, 3);
  }

  /**
   * [p|c|r] with segments 0/1/2 must equal the separate sequences [p|c] and [p|r]: same outputs
   * row for row, same response gradients, and prompt gradients equal to the sum over both runs
   * (the prompt's dOut is split randomly between the two separate runs).
   */
  @Test
  void sharedPrefixEqualsSeparateSequences() {
    SplittableRandom rng = new SplittableRandom(2024);
    int hq = 4, hkv = 2, hd = 32;
    for (int trial = 0; trial < 12; trial++) {
      int pairs = 1 + rng.nextInt(3);
      int[][] lens = new int[pairs][];  // {prompt, chosen, rejected}
      for (int p = 0; p < pairs; p++) {
        lens[p] = new int[] {1 + rng.nextInt(trial < 6 ? 8 : 90), pick(rng), pick(rng)};
      }
      checkSharedPrefix(rng, lens, hq, hkv, hd);
    }
    checkSharedPrefix(rng, new int[][] {{1, 1, 1}}, 7, 1, 64);        // smallest pack, GQA 7
    checkSharedPrefix(rng, new int[][] {{70, 1, 66}, {3, 2, 1}}, 2, 2, 80);  // crosses 64-key tiles
  }

  /** Response lengths: 1-token responses often, otherwise short or tile-crossing. */
  private static int pick(SplittableRandom rng) {
    int r = rng.nextInt(4);
    return r == 0 ? 1 : r == 1 ? 2 + rng.nextInt(5) : 1 + rng.nextInt(80);
  }

  private void checkSharedPrefix(SplittableRandom rng, int[][] lens, int hq, int hkv, int hd) {
    String what = "pairs " + Arrays.deepToString(lens) + " Hq=" + hq + " Hkv=" + hkv + " hd=" + hd;
    int pairs = lens.length;
    // Per-pair token values: prompt, chosen, rejected rows of q/k/v/dOut, drawn once, used by both packs.
    int[] packedLens = new int[pairs], sepLens = new int[2 * pairs];
    List<Integer> seg = new ArrayList<>();
    // packedRow[p][t]: row in the packed layout of pair p's token t (t over prompt|chosen|rejected);
    // sepRow[p][t]: row in the separate layout (prompt tokens map to their copy in [p|c]; promptB to [p|r]).
    int[][] packedRow = new int[pairs][], sepRowA = new int[pairs][], sepRowB = new int[pairs][];
    int packed = 0, sep = 0;
    for (int p = 0; p < pairs; p++) {
      int np = lens[p][0], nc = lens[p][1], nr = lens[p][2], n = np + nc + nr;
      packedLens[p] = n;
      sepLens[2 * p] = np + nc;
      sepLens[2 * p + 1] = np + nr;
      packedRow[p] = new int[n];
      sepRowA[p] = new int[n];
      sepRowB[p] = new int[n];
      for (int t = 0; t < n; t++) {
        packedRow[p][t] = packed + t;
        seg.add(t < np ? 0 : t < np + nc ? 1 : 2);
        sepRowA[p][t] = t < np + nc ? sep + t : -1;                     // [p|c]
        sepRowB[p][t] = t < np ? sep + np + nc + t : t >= np + nc ? sep + np + nc + t - nc : -1;  // [p|r]
      }
      packed += n;
      sep += 2 * np + nc + nr;
    }
    Case pc = new Case("packed", packedLens, seg.stream().mapToInt(Integer::intValue).toArray(), hq, hkv, hd);
    Case sc = new Case("separate", sepLens, null, hq, hkv, hd);
    Io pio = inputs(pc, rng, 2.0);
    Tensor pdOut = GradCheck.random(rng, 1.0, packed, hq, hd);
    Io sio = new Io(Tensor.host(DType.F64, sep, hq, hd), Tensor.host(DType.F64, sep, hkv, hd),
        Tensor.host(DType.F64, sep, hkv, hd), Tensor.host(DType.F64, sep, hq, hd), Tensor.host(DType.F64, hq, sep));
    Tensor sdOut = Tensor.host(DType.F64, sep, hq, hd);
    for (int p = 0; p < pairs; p++) {
      for (int t = 0; t < packedLens[p]; t++) {
        boolean prompt = t < lens[p][0];
        for (int[] rows : new int[][] {sepRowA[p], sepRowB[p]}) {
          if (rows[t] < 0) continue;
          copyRow(pio.q(), packedRow[p][t], sio.q(), rows[t], hq * hd);
          copyRow(pio.k(), packedRow[p][t], sio.k(), rows[t], hkv * hd);
          copyRow(pio.v(), packedRow[p][t], sio.v(), rows[t], hkv * hd);
        }
        for (int e = 0; e < hq * hd; e++) {
          double g = pdOut.getDouble((long) packedRow[p][t] * hq * hd + e);
          if (prompt) {
            double share = rng.nextDouble() * 2 - 0.5;
            sdOut.setDouble((long) sepRowA[p][t] * hq * hd + e, share * g);
            sdOut.setDouble((long) sepRowB[p][t] * hq * hd + e, (1 - share) * g);
          } else {
            int row = sepRowA[p][t] >= 0 ? sepRowA[p][t] : sepRowB[p][t];
            sdOut.setDouble((long) row * hq * hd + e, g);
          }
        }
      }
    }
    Tensor[] pg = runBoth(pc, pio, pdOut);
    Tensor[] sg = runBoth(sc, sio, sdOut);

    for (int p = 0; p < pairs; p++) {
      for (int t = 0; t < packedLens[p]; t++) {
        int pr = packedRow[p][t], a = sepRowA[p][t], b = sepRowB[p][t];
        String at = what + " pair " + p + " token " + t;
        for (int e = 0; e < hq * hd; e++) {
          double expect = pio.out().getDouble((long) pr * hq * hd + e);
          if (a >= 0) assertEquals(expect, sio.out().getDouble((long) a * hq * hd + e), 1e-12, at + " out vs [p|c]");
          if (b >= 0) assertEquals(expect, sio.out().getDouble((long) b * hq * hd + e), 1e-12, at + " out vs [p|r]");
        }
        int[] widths = {hq * hd, hkv * hd, hkv * hd};
        String[] names = {"dq", "dk", "dv"};
        for (int x = 0; x < 3; x++) {
          for (int e = 0; e < widths[x]; e++) {
            double sum = (a >= 0 ? sg[x].getDouble((long) a * widths[x] + e) : 0)
                + (b >= 0 ? sg[x].getDouble((long) b * widths[x] + e) : 0);
            assertEquals(sum, pg[x].getDouble((long) pr * widths[x] + e), 1e-11, at + " " + names[x]);
          }
        }
      }
    }
  }

  private Tensor[] runBoth(Case c, Io io, Tensor dOut) {
    VarlenLayout layout = c.layout();
    cpu.attentionForward(io.out(), io.lse(), io.q(), io.k(), io.v(), layout, c.scale());
    Tensor dq = junk(DType.F64, c.tokens(), c.hq(), c.hd());
    Tensor dk = junk(DType.F64, c.tokens(), c.hkv(), c.hd());
    Tensor dv = junk(DType.F64, c.tokens(), c.hkv(), c.hd());
    cpu.attentionBackward(dq, dk, dv, dOut, io.q(), io.k(), io.v(), io.out(), io.lse(), layout, c.scale());
    return new Tensor[] {dq, dk, dv};
  }

  private static void copyRow(Tensor src, int srcRow, Tensor dst, int dstRow, int width) {
    for (int e = 0; e < width; e++) dst.setDouble((long) dstRow * width + e, src.getDouble((long) srcRow * width + e));
  }

  /** The F32 forward and backward on the F64 case's inputs rounded to float (dq/dk/dv start as junk: overwrite). */
  private record F32Run(Io io, Tensor dq, Tensor dk, Tensor dv) {}

  private F32Run runF32(Case c, Io io, Tensor dOut, VarlenLayout layout) {
    Io io32 = new Io(toF32(io.q()), toF32(io.k()), toF32(io.v()),
        Tensor.host(DType.F32, c.tokens(), c.hq(), c.hd()), Tensor.host(DType.F32, c.hq(), c.tokens()));
    Tensor dq = junk(DType.F32, c.tokens(), c.hq(), c.hd());
    Tensor dk = junk(DType.F32, c.tokens(), c.hkv(), c.hd());
    Tensor dv = junk(DType.F32, c.tokens(), c.hkv(), c.hd());
    cpu.attentionForward(io32.out(), io32.lse(), io32.q(), io32.k(), io32.v(), layout, c.scale());
    cpu.attentionBackward(dq, dk, dv, toF32(dOut), io32.q(), io32.k(), io32.v(), io32.out(), io32.lse(), layout,
        c.scale());
    return new F32Run(io32, dq, dk, dv);
  }

  /** F32 against F64 on the same inputs, including a sequence over 64 tokens and peaky scores. */
  @Test
  void float32AgreesWithFloat64() {
    SplittableRandom rng = new SplittableRandom(5);
    Case c = new Case("f32", new int[] {150, 1, 47}, promptChosenRejected(rng, 150, 1, 47), 4, 2, 64);
    Io io = inputs(c, rng, 3.0);  // scores up to ~|q||k|/8: softmax rows far from uniform
    VarlenLayout layout = c.layout();
    Tensor dOut = GradCheck.random(rng, 1.0, c.tokens(), c.hq(), c.hd());
    Tensor[] g64 = runBoth(c, io, dOut);

    F32Run f = runF32(c, io, dOut, layout);
    Io io32 = f.io();
    Tensor dq = f.dq(), dk = f.dk(), dv = f.dv();
    // Stated tolerances (absolute): 1e-5 for out and lse, 5e-5 for gradients. Measured worst
    // errors on this case: out 8e-7, lse 1.4e-6, dq 7e-7, dk 1.2e-6, dv 3.6e-6.
    assertClose("f32 out", io.out().toDoubleArray(), io32.out().toDoubleArray(), 1e-5);
    assertClose("f32 lse", io.lse().toDoubleArray(), io32.lse().toDoubleArray(), 1e-5);
    assertClose("f32 dq", g64[0].toDoubleArray(), dq.toDoubleArray(), 5e-5);
    assertClose("f32 dk", g64[1].toDoubleArray(), dk.toDoubleArray(), 5e-5);
    assertClose("f32 dv", g64[2].toDoubleArray(), dv.toDoubleArray(), 5e-5);
  }

  /**
   * F32 against F64 on the awkward shapes: one tolerance per output, relative to its largest magnitude
   * (stated: 2e-5 for out and lse, 1e-4 for gradients), which catches a wrong exp or mask in the float path.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("float32Cases")
  void float32AgreesWithFloat64OnAwkwardShapes(Case c) {
    SplittableRandom rng = new SplittableRandom(c.tokens() * 7L + c.hd());
    Io io = inputs(c, rng, 3.0);
    VarlenLayout layout = c.layout();
    Tensor dOut = GradCheck.random(rng, 1.0, c.tokens(), c.hq(), c.hd());
    Tensor[] g64 = runBoth(c, io, dOut);
    F32Run f = runF32(c, io, dOut, layout);
    Io io32 = f.io();
    Tensor dq = f.dq(), dk = f.dk(), dv = f.dv();
    assertClose("f32 out", io.out().toDoubleArray(), io32.out().toDoubleArray(), 2e-5 * maxAbs(io.out()));
    assertClose("f32 lse", io.lse().toDoubleArray(), io32.lse().toDoubleArray(), 2e-5 * maxAbs(io.lse()));
    assertClose("f32 dq", g64[0].toDoubleArray(), dq.toDoubleArray(), 1e-4 * maxAbs(g64[0]));
    assertClose("f32 dk", g64[1].toDoubleArray(), dk.toDoubleArray(), 1e-4 * maxAbs(g64[1]));
    assertClose("f32 dv", g64[2].toDoubleArray(), dv.toDoubleArray(), 1e-4 * maxAbs(g64[2]));
  }

  private static double maxAbs(Tensor t) {
    double m = 0;
    for (double x : t.toDoubleArray()) m = Math.max(m, Math.abs(x));
    return Math.max(m, 1e-3);
  }

  /**
   * The blocked kernels' results do not depend on the thread count: forward and backward with 1 and 2
   * OpenMP threads give bit-identical float32 outputs (a pack large enough to run in parallel).
   */
  @Test
  void resultsAreIndependentOfThreadCount() {
    SplittableRandom rng = new SplittableRandom(31);
    Case c = new Case("threads", new int[] {300, 129, 64, 7}, promptChosenRejected(rng, 300, 129, 64, 7), 8, 2, 64);
    Io io = inputs(c, rng, 2.0);
    Tensor dOut = toF32(GradCheck.random(rng, 1.0, c.tokens(), c.hq(), c.hd()));
    Io io32 = new Io(toF32(io.q()), toF32(io.k()), toF32(io.v()), null, null);
    int before = CpuThreads.get_cpu_threads();
    List<double[]> one = null;
    try {
      for (int threads : new int[] {1, 2}) {
        CpuThreads.set_cpu_threads(threads);
        Tensor out = Tensor.host(DType.F32, c.tokens(), c.hq(), c.hd()), lse = Tensor.host(DType.F32, c.hq(), c.tokens());
        Tensor dq = junk(DType.F32, c.tokens(), c.hq(), c.hd());
        Tensor dk = junk(DType.F32, c.tokens(), c.hkv(), c.hd());
        Tensor dv = junk(DType.F32, c.tokens(), c.hkv(), c.hd());
        cpu.attentionForward(out, lse, io32.q(), io32.k(), io32.v(), c.layout(), c.scale());
        cpu.attentionBackward(dq, dk, dv, dOut, io32.q(), io32.k(), io32.v(), out, lse, c.layout(), c.scale());
        List<double[]> r = List.of(out.toDoubleArray(), lse.toDoubleArray(), dq.toDoubleArray(), dk.toDoubleArray(),
            dv.toDoubleArray());
        if (one == null) {
          one = r;
        } else {
          for (int x = 0; x < r.size(); x++) assertArrayEquals(one.get(x), r.get(x), "output " + x + ", 1 vs 2 threads");
        }
      }
    } finally {
      CpuThreads.set_cpu_threads(before);
    }
  }

  /** Two identical backward calls give bit-identical gradients (no races, fixed order). */
  @Test
  void backwardIsDeterministic() {
    SplittableRandom rng = new SplittableRandom(9);
    Case c = new Case("det", new int[] {90, 130, 7, 64}, promptChosenRejected(rng, 90, 130, 7, 64), 14, 2, 64);
    Io io = inputs(c, rng, 2.0);
    Tensor dOut = GradCheck.random(rng, 1.0, c.tokens(), c.hq(), c.hd());
    Tensor[] first = runBoth(c, io, dOut);
    Tensor[] second = runBoth(c, io, dOut);
    for (int x = 0; x < 3; x++) assertArrayEquals(first[x].toDoubleArray(), second[x].toDoubleArray());
  }

  /** Backend contract: dq, dk, dv overwritten, with GQA (dk/dv sum over query heads) and an empty sequence. */
  @ParameterizedTest(name = "{0}")
  @EnumSource(value = DType.class, names = {"F64", "F32"})
  void backwardOverwritesAllThreeGradients(DType type) {
    SplittableRandom rng = new SplittableRandom(27);
    Case c = new Case("contract", new int[] {5, 0, 9, 2}, promptChosenRejected(rng, 5, 0, 9, 2), 4, 2, 16);
    Io io = inputs(c, rng, 1.5);
    Tensor q = GradCheck.cast(io.q(), type), k = GradCheck.cast(io.k(), type), v = GradCheck.cast(io.v(), type);
    Tensor out = Tensor.host(type, c.tokens(), c.hq(), c.hd()), lse = Tensor.host(type, c.hq(), c.tokens());
    VarlenLayout layout = c.layout();
    cpu.attentionForward(out, lse, q, k, v, layout, c.scale());
    Tensor dOut = GradCheck.cast(GradCheck.random(rng, 1.0, c.tokens(), c.hq(), c.hd()), type);
    GradContract.check(cpu, "attention", GradCheck.contractTolerance(type),
        d -> cpu.attentionBackward(d[0], d[1], d[2], dOut, q, k, v, out, lse, layout, c.scale()),
        GradContract.overwrite("dq", type, c.tokens(), c.hq(), c.hd()),
        GradContract.overwrite("dk", type, c.tokens(), c.hkv(), c.hd()),
        GradContract.overwrite("dv", type, c.tokens(), c.hkv(), c.hd()));
  }

  @Test
  void badArgumentsAreRejected() {
    Case ok = new Case("ok", new int[] {3, 2}, null, 4, 2, 8);
    Tensor q = Tensor.host(DType.F64, 5, 4, 8), k = Tensor.host(DType.F64, 5, 2, 8), v = Tensor.host(DType.F64, 5, 2, 8);
    Tensor out = Tensor.host(DType.F64, 5, 4, 8), lse = Tensor.host(DType.F64, 4, 5);
    cpu.attentionForward(out, lse, q, k, v, ok.layout(), ok.scale());  // the baseline is accepted

    assertMessage("multiple of Hkv", () -> cpu.attentionForward(Tensor.host(DType.F64, 5, 3, 8),
        Tensor.host(DType.F64, 3, 5), Tensor.host(DType.F64, 5, 3, 8), k, v, ok.layout(), 1.0));
    assertMessage("non-decreasing", () -> cpu.attentionForward(out, lse, q, k, v, layout(new int[] {0, 4, 3, 5}, null, 5), 1.0));
    assertMessage("cu_seqlens[0] must be 0", () -> cpu.attentionForward(out, lse, q, k, v, layout(new int[] {1, 3, 5}, null, 5), 1.0));
    assertMessage("must equal total_tokens", () -> cpu.attentionForward(out, lse, q, k, v, layout(new int[] {0, 3, 4}, null, 5), 1.0));
    assertMessage("segment_ids[2] = -1", () -> cpu.attentionForward(out, lse, q, k, v,
        layout(new int[] {0, 3, 5}, new int[] {0, 1, -1, 0, 0}, 3), 1.0));
    assertMessage("max_seqlen 2", () -> cpu.attentionForward(out, lse, q, k, v, layout(new int[] {0, 3, 5}, null, 2), 1.0));
    assertMessage("scale must be finite", () -> cpu.attentionForward(out, lse, q, k, v, ok.layout(), Double.NaN));
    assertMessage("bad arguments", () -> cpu.attentionForward(out, Tensor.host(DType.F64, 5, 4), q, k, v, ok.layout(), 1.0));
    assertMessage("bad arguments", () -> cpu.attentionForward(out, lse, q, Tensor.host(DType.F64, 5, 2, 4), v, ok.layout(), 1.0));
    assertMessage("bad arguments", () -> cpu.attentionForward(Tensor.host(DType.F64, 6, 4, 8), Tensor.host(DType.F64, 4, 6),
        Tensor.host(DType.F64, 6, 4, 8), Tensor.host(DType.F64, 6, 2, 8), Tensor.host(DType.F64, 6, 2, 8), ok.layout(), 1.0));
    assertMessage("mixed dtypes", () -> cpu.attentionForward(Tensor.host(DType.F32, 5, 4, 8), lse, q, k, v, ok.layout(), 1.0));
    assertMessage("non-decreasing", () -> cpu.attentionBackward(Tensor.host(DType.F64, 5, 4, 8), Tensor.host(DType.F64, 5, 2, 8),
        Tensor.host(DType.F64, 5, 2, 8), out, q, k, v, out, lse, layout(new int[] {0, 4, 3, 5}, null, 5), 1.0));
    assertMessage("bad arguments", () -> cpu.attentionBackward(Tensor.host(DType.F64, 5, 4, 8), Tensor.host(DType.F64, 5, 4, 8),
        Tensor.host(DType.F64, 5, 2, 8), out, q, k, v, out, lse, ok.layout(), 1.0));
  }

  private static VarlenLayout layout(int[] cu, int[] seg, int maxSeqlen) {
    return new VarlenLayout(Tensor.hostOf(cu, cu.length), seg == null ? null : Tensor.hostOf(seg, seg.length),
        cu.length - 1, 5, maxSeqlen);
  }

  private static void assertMessage(String fragment, Runnable call) {
    RuntimeException e = assertThrows(RuntimeException.class, call::run);
    assertTrue(e.getMessage() != null && e.getMessage().contains(fragment),
        "expected a message containing '" + fragment + "', got: " + e.getMessage());
  }
}
