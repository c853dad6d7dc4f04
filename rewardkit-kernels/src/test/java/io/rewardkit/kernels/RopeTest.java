package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Rotary embedding. Its backward is the one op outside the overwrite/accumulate contract of
 * {@link Backend}: it rotates the gradient buffer in place, so the buffer's prior contents ARE its input;
 * {@code backwardMatchesFiniteDifferences} (dx starts as the upstream gradient) and
 * {@code backwardUndoesForwardBecauseTheRotationIsOrthogonal} check exactly that.
 */
class RopeTest {
  private final Backend cpu = new CpuBackend();

  private static Tensor positions(SplittableRandom rng, int tokens, int maxPos) {
    int[] p = new int[tokens];
    for (int t = 0; t < tokens; t++) p[t] = rng.nextInt(maxPos);
    return Tensor.hostOf(p, tokens);
  }

  /** Direct rotate_half: out_i = x_i c − x_{i+h} s, out_{i+h} = x_{i+h} c + x_i s. */
  private static double[] reference(Tensor x, int[] pos, RopeTables rope, int tokens, int heads, int hd) {
    double[] out = x.toDoubleArray();
    int half = hd / 2;
    for (int t = 0; t < tokens; t++) {
      for (int h = 0; h < heads; h++) {
        int base = (t * heads + h) * hd;
        for (int i = 0; i < half; i++) {
          double a = x.getDouble(base + i), b = x.getDouble(base + i + half);
          double c = rope.cos(pos[t], i), s = rope.sin(pos[t], i);
          out[base + i] = a * c - b * s;
          out[base + i + half] = b * c + a * s;
        }
      }
    }
    return out;
  }

  @ParameterizedTest(name = "T={0} H={1} hd={2} maxPos={3}")
  @CsvSource({"1,1,2,1", "3,2,64,16", "5,3,128,9", "2,1,80,40", "7,2,6,3"})
  void backwardMatchesFiniteDifferences(int tokens, int heads, int hd, int maxPos) {
    SplittableRandom rng = new SplittableRandom(tokens * 1_000_000L + heads * 1000L + hd);
    RopeTables.Uploaded tables = RopeTables.build(hd, 10000, maxPos, null).upload(cpu, DType.F64);
    Tensor pos = positions(rng, tokens, maxPos);
    Tensor x = GradCheck.random(rng, 1.0, tokens, heads, hd);
    Tensor g = GradCheck.random(rng, 1.0, tokens, heads, hd);
    Tensor dx = Tensor.hostOf(g.toDoubleArray(), tokens, heads, hd);
    cpu.ropeBackward(dx, pos, tables.cos(), tables.sin());
    Tensor y = Tensor.host(DType.F64, tokens, heads, hd);
    GradCheck.check("rope dx", x, dx, () -> {
      cpu.copy(y, x);
      cpu.ropeForward(y, pos, tables.cos(), tables.sin());
      return GradCheck.dot(g, y);
    }, 300, 4);
  }

  @ParameterizedTest(name = "hd={0}")
  @CsvSource({"64", "128", "80", "2"})
  void forwardMatchesRotateHalfInBothDtypes(int hd) {
    SplittableRandom rng = new SplittableRandom(hd);
    int tokens = 37, heads = 5, maxPos = 4096;  // large positions: the angle wraps many times
    RopeTables rope = RopeTables.build(hd, 500000, maxPos, new RopeTables.Llama3Scaling(8, 1, 4, 1024));
    RopeTables.Uploaded t64 = rope.upload(cpu, DType.F64);
    RopeTables.Uploaded t32 = rope.upload(cpu, DType.F32);
    Tensor pos = positions(rng, tokens, maxPos);
    Tensor x = GradCheck.random(rng, 2.0, tokens, heads, hd);
    double[] expect = reference(x, pos.toIntArray(), rope, tokens, heads, hd);
    Tensor y = Tensor.hostOf(x.toDoubleArray(), tokens, heads, hd);
    cpu.ropeForward(y, pos, t64.cos(), t64.sin());
    assertArrayEquals(expect, y.toDoubleArray(), 1e-14);
    Tensor y32 = Tensor.hostOf(x.toFloatArray(), tokens, heads, hd);
    cpu.ropeForward(y32, pos, t32.cos(), t32.sin());
    // F32 vs F64: two products of |x| <= 2 with table entries rounded to F32: under 2e-6 absolute.
    float[] got32 = y32.toFloatArray();
    for (int k = 0; k < expect.length; k++) assertEquals(expect[k], got32[k], 2e-6, "element " + k);
  }

  @Test
  void backwardUndoesForwardBecauseTheRotationIsOrthogonal() {
    SplittableRandom rng = new SplittableRandom(3);
    int tokens = 300, heads = 4, hd = 128;  // above the OpenMP threshold
    RopeTables.Uploaded tables = RopeTables.build(hd, 1e6, 512, null).upload(cpu, DType.F64);
    Tensor pos = positions(rng, tokens, 512);
    Tensor x = GradCheck.random(rng, 1.0, tokens, heads, hd);
    Tensor y = Tensor.hostOf(x.toDoubleArray(), tokens, heads, hd);
    cpu.ropeForward(y, pos, tables.cos(), tables.sin());
    assertTrue(maxAbsDiff(x, y) > 0.1, "forward did not rotate");
    cpu.ropeBackward(y, pos, tables.cos(), tables.sin());
    assertEquals(0.0, maxAbsDiff(x, y), 1e-14);
  }

  private static double maxAbsDiff(Tensor a, Tensor b) {
    double m = 0;
    for (long i = 0; i < a.numel(); i++) m = Math.max(m, Math.abs(a.getDouble(i) - b.getDouble(i)));
    return m;
  }

  @Test
  void badArgumentsAreRejected() {
    RopeTables.Uploaded tables = RopeTables.build(8, 10000, 4, null).upload(cpu, DType.F64);
    Tensor x = Tensor.host(DType.F64, 2, 3, 8);
    RuntimeException outside = assertThrows(RuntimeException.class,
        () -> cpu.ropeForward(x, Tensor.hostOf(new int[] {1, 4}, 2), tables.cos(), tables.sin()));
    assertTrue(outside.getMessage().contains("positions[1] = 4"), outside.getMessage());
    RuntimeException negative = assertThrows(RuntimeException.class,
        () -> cpu.ropeBackward(x, Tensor.hostOf(new int[] {-2, 0}, 2), tables.cos(), tables.sin()));
    assertTrue(negative.getMessage().contains("positions[0] = -2"), negative.getMessage());
    Tensor pos = Tensor.hostOf(new int[] {0, 1}, 2);
    assertThrows(IllegalArgumentException.class, () -> cpu.ropeForward(Tensor.host(DType.F64, 2, 3, 7), pos, tables.cos(), tables.sin()));
    assertThrows(IllegalArgumentException.class, () -> cpu.ropeForward(x, Tensor.host(DType.F64, 2), tables.cos(), tables.sin()));
    assertThrows(IllegalArgumentException.class,
        () -> cpu.ropeForward(x, pos, tables.cos(), Tensor.host(DType.F64, 3, 4)));
    assertThrows(IllegalArgumentException.class,
        () -> cpu.ropeForward(Tensor.host(DType.F32, 2, 3, 8), pos, tables.cos(), tables.sin()));
  }
}
