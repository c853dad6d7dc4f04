package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EmbeddingTest {
  private final Backend cpu = new CpuBackend();

  /** ids in [0, V) with at least one repeat (the last id copies the first) when T > 1. */
  private static Tensor ids(SplittableRandom rng, int tokens, int vocab) {
    int[] ids = new int[tokens];
    for (int t = 0; t < tokens; t++) ids[t] = rng.nextInt(vocab);
    if (tokens > 1) ids[tokens - 1] = ids[0];
    return Tensor.hostOf(ids, tokens);
  }

  @ParameterizedTest(name = "T={0} V={1} D={2}")
  @CsvSource({"1,1,1", "7,3,5", "4,50,64", "13,2,1", "9,11,80"})
  void backwardMatchesFiniteDifferences(int tokens, int vocab, int dim) {
    SplittableRandom rng = new SplittableRandom(tokens * 1_000_000L + vocab * 1000L + dim);
    Tensor table = GradCheck.random(rng, 1.0, vocab, dim);
    Tensor ids = ids(rng, tokens, vocab);
    Tensor g = GradCheck.random(rng, 1.0, tokens, dim);
    Tensor out = Tensor.host(DType.F64, tokens, dim);
    Tensor dTable = Tensor.host(DType.F64, vocab, dim);
    cpu.embeddingBackward(dTable, g, ids);
    GradCheck.check("embedding dTable", table, dTable,
        () -> { cpu.embeddingForward(out, ids, table); return GradCheck.dot(g, out); }, 300, 3);
  }

  @Test
  void forwardGathersRowsInBothDtypes() {
    SplittableRandom rng = new SplittableRandom(11);
    int tokens = 300, vocab = 17, dim = 257;  // T * D above the OpenMP threshold; D spans 5 column blocks
    Tensor table = GradCheck.random(rng, 2.0, vocab, dim);
    Tensor ids = ids(rng, tokens, vocab);
    Tensor out = Tensor.host(DType.F64, tokens, dim);
    cpu.embeddingForward(out, ids, table);
    Tensor table32 = Tensor.hostOf(table.toFloatArray(), vocab, dim);
    Tensor out32 = Tensor.host(DType.F32, tokens, dim);
    cpu.embeddingForward(out32, ids, table32);
    int[] id = ids.toIntArray();
    for (int t = 0; t < tokens; t++) {
      for (int c = 0; c < dim; c++) {
        double expect = table.getDouble((long) id[t] * dim + c);
        assertEquals(expect, out.getDouble((long) t * dim + c), 0.0);
        // A gather copies: the F32 path must give exactly the F32 rounding of the table entry.
        assertEquals((float) expect, out32.f32().get((long) t * dim + c), 0.0f);
      }
    }
  }

  @Test
  void backwardAccumulatesInTokenOrderInBothDtypes() {
    SplittableRandom rng = new SplittableRandom(12);
    int tokens = 300, vocab = 5, dim = 257;  // many repeats across threads' column stripes
    Tensor ids = ids(rng, tokens, vocab);
    Tensor dOut = GradCheck.random(rng, 1.0, tokens, dim);
    Tensor base = GradCheck.random(rng, 1.0, vocab, dim);
    Tensor dTable = Tensor.hostOf(base.toDoubleArray(), vocab, dim);
    cpu.embeddingBackward(dTable, dOut, ids);
    double[] expect = base.toDoubleArray();
    int[] id = ids.toIntArray();
    for (int t = 0; t < tokens; t++) {
      for (int c = 0; c < dim; c++) expect[id[t] * dim + c] += dOut.getDouble((long) t * dim + c);
    }
    // Same summation order as the kernel (token order per element), so F64 agrees exactly.
    assertArrayEquals(expect, dTable.toDoubleArray(), 0.0);

    Tensor dTable32 = Tensor.hostOf(base.toFloatArray(), vocab, dim);
    cpu.embeddingBackward(dTable32, Tensor.hostOf(dOut.toFloatArray(), tokens, dim), ids);
    float[] got32 = dTable32.toFloatArray();
    // F32 vs F64: each sum has ~60 terms of size <= 1, so rounding stays below 60 * 2^-24 * 60 ≈ 2e-4.
    for (int i = 0; i < expect.length; i++) assertEquals(expect[i], got32[i], 2e-4, "element " + i);
  }

  /** Backend contract: dTable accumulated (tied embeddings and micro-batches add into it). */
  @ParameterizedTest(name = "{0}")
  @EnumSource(value = DType.class, names = {"F64", "F32"})
  void backwardAccumulatesDTable(DType type) {
    SplittableRandom rng = new SplittableRandom(22);
    int tokens = 9, vocab = 6, dim = 17;
    Tensor ids = ids(rng, tokens, vocab);
    Tensor dOut = GradCheck.cast(GradCheck.random(rng, 1.0, tokens, dim), type);
    GradContract.check(cpu, "embedding", GradCheck.contractTolerance(type),
        d -> cpu.embeddingBackward(d[0], dOut, ids), GradContract.accumulate("dTable", type, vocab, dim));
  }

  @Test
  void badArgumentsAreRejected() {
    Tensor table = Tensor.host(DType.F64, 5, 3);
    Tensor out = Tensor.host(DType.F64, 3, 3);
    RuntimeException tooBig = assertThrows(RuntimeException.class,
        () -> cpu.embeddingForward(out, Tensor.hostOf(new int[] {0, 4, 5}, 3), table));
    assertTrue(tooBig.getMessage().contains("ids[2] = 5"), tooBig.getMessage());
    RuntimeException negative = assertThrows(RuntimeException.class,
        () -> cpu.embeddingBackward(Tensor.host(DType.F64, 5, 3), out, Tensor.hostOf(new int[] {-1, 0, 0}, 3)));
    assertTrue(negative.getMessage().contains("ids[0] = -1"), negative.getMessage());
    Tensor ids = Tensor.hostOf(new int[] {0, 1, 2}, 3);
    assertThrows(IllegalArgumentException.class, () -> cpu.embeddingForward(Tensor.host(DType.F64, 3, 4), ids, table));
    assertThrows(IllegalArgumentException.class, () -> cpu.embeddingForward(out, Tensor.host(DType.F64, 3), table));
    assertThrows(IllegalArgumentException.class, () -> cpu.embeddingForward(Tensor.host(DType.F32, 3, 3), ids, table));
    assertThrows(IllegalArgumentException.class, () -> cpu.embeddingForward(out, ids, Tensor.host(DType.F64, 15)));
    assertThrows(IllegalArgumentException.class,
        () -> cpu.embeddingBackward(Tensor.host(DType.F64, 5, 3), Tensor.host(DType.F64, 2, 3), ids));
  }
}
