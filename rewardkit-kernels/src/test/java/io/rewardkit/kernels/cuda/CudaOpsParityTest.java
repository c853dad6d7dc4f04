package io.rewardkit.kernels.cuda;

import static io.rewardkit.kernels.cuda.CudaTestSupport.assertClose;
import static io.rewardkit.kernels.cuda.CudaTestSupport.bf16;
import static io.rewardkit.kernels.cuda.CudaTestSupport.f32;
import static io.rewardkit.kernels.cuda.CudaTestSupport.i32;
import static io.rewardkit.kernels.cuda.CudaTestSupport.randomBf16;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.GradContract;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.kernels.VarlenLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Per-op forward/backward parity of the CUDA kernels against the CPU reference backend, on awkward
 * shapes (sizes that are not multiples of warp/tile widths). Skipped without a GPU.
 */
class CudaOpsParityTest extends CudaTestBase {
  private static final double ELEMENTWISE = 0x1p-7;  // up to 3 bf16 roundings of the result
  private static final double REDUCTION = 0x1p-5;    // bf16 output of an fp32 dot product over up to ~10^3 terms

  @ParameterizedTest
  @CsvSource({"37, 200", "1, 32", "129, 1000", "4096, 128"})
  void rmsnorm(int rows, int dim) {
    float[] x = randomBf16(rnd, rows * dim, 1.5), w = randomBf16(rnd, dim, 1.0), dy = randomBf16(rnd, rows * dim, 1.0);
    Tensor cOut = cpu.allocate(DType.F32, rows, dim), cRstd = cpu.allocate(DType.F32, rows);
    Tensor cx = Tensor.hostOf(x, rows, dim), cw = Tensor.hostOf(w, dim);
    cpu.rmsnormForward(cOut, cRstd, cx, cw, 1e-6);
    Tensor gOut = gpu.allocate(DType.BF16, rows, dim), gRstd = gpu.allocate(DType.F32, rows);
    Tensor gx = bf16(gpu, x, rows, dim), gw = bf16(gpu, w, dim);
    gpu.rmsnormForward(gOut, gRstd, gx, gw, 1e-6);
    assertClose("rmsnorm out", cOut.toFloatArray(), gpu.downloadFloats(gOut), ELEMENTWISE);
    assertClose("rmsnorm rstd", cRstd.toFloatArray(), gpu.downloadFloats(gRstd), 1e-5);

    Tensor cdx = cpu.allocate(DType.F32, rows, dim), cdw = Tensor.hostOf(randomBf16(rnd, dim, 1), dim);
    float[] dw0 = cdw.toFloatArray();
    cpu.rmsnormBackward(cdx, cdw, Tensor.hostOf(dy, rows, dim), cx, cw, cRstd);
    Tensor gdx = gpu.allocate(DType.BF16, rows, dim), gdw = f32(gpu, dw0, dim);
    gpu.rmsnormBackward(gdx, gdw, bf16(gpu, dy, rows, dim), gx, gw, gRstd);
    assertClose("rmsnorm dx", cdx.toFloatArray(), gpu.downloadFloats(gdx), REDUCTION);
    assertClose("rmsnorm dw (accumulated)", cdw.toFloatArray(), gpu.downloadFloats(gdw), REDUCTION);
  }

  /**
   * The fused residual ops on the GPU against the unfused GPU calls they replace (copy + addInPlace + rmsnormForward,
   * rmsnormBackward into a scratch + addInPlace, copy + addInPlace): bit-identical bf16/fp32 results.
   */
  @ParameterizedTest
  @CsvSource({"37, 200", "1, 1", "5, 13", "129, 1000"})
  void fusedResidualOpsMatchTheUnfusedCallsBitForBit(int rows, int dim) {
    float[] x = randomBf16(rnd, rows * dim, 1.5), delta = randomBf16(rnd, rows * dim, 0.5), w = randomBf16(rnd, dim, 1.0);
    float[] dy = randomBf16(rnd, rows * dim, 1.0), dres = randomBf16(rnd, rows * dim, 1.0);
    Tensor gx = bf16(gpu, x, rows, dim), gd = bf16(gpu, delta, rows, dim), gw = bf16(gpu, w, dim);
    Tensor yRef = gpu.allocate(DType.BF16, rows, dim), outRef = gpu.allocate(DType.BF16, rows, dim);
    Tensor rstdRef = gpu.allocate(DType.F32, rows);
    gpu.copy(yRef, gx);
    gpu.addInPlace(yRef, gd);
    gpu.rmsnormForward(outRef, rstdRef, yRef, gw, 1e-6);
    Tensor y = gpu.allocate(DType.BF16, rows, dim), out = gpu.allocate(DType.BF16, rows, dim), rstd = gpu.allocate(DType.F32, rows);
    gpu.residualRmsnormForward(y, out, rstd, gx, gd, gw, 1e-6);
    assertArrayEquals(gpu.downloadFloats(yRef), gpu.downloadFloats(y), "residual y");
    assertArrayEquals(gpu.downloadFloats(outRef), gpu.downloadFloats(out), "residual out");
    assertArrayEquals(gpu.downloadFloats(rstdRef), gpu.downloadFloats(rstd), "residual rstd");

    Tensor gdy = bf16(gpu, dy, rows, dim), scratch = gpu.allocate(DType.BF16, rows, dim);
    Tensor dxRef = bf16(gpu, dres, rows, dim), dx = bf16(gpu, dres, rows, dim);
    Tensor dwRef = gpu.allocate(DType.F32, dim), dw = gpu.allocate(DType.F32, dim);
    gpu.rmsnormBackward(scratch, dwRef, gdy, yRef, gw, rstdRef);
    gpu.addInPlace(dxRef, scratch);
    gpu.rmsnormBackward(dx, dw, gdy, yRef, gw, rstdRef, true);
    assertArrayEquals(gpu.downloadFloats(dxRef), gpu.downloadFloats(dx), "rmsnorm dx (accumulated)");
    assertArrayEquals(gpu.downloadFloats(dwRef), gpu.downloadFloats(dw), "rmsnorm dw");

    Tensor sum = gpu.allocate(DType.BF16, rows, dim);
    gpu.add(sum, gx, gd);
    assertArrayEquals(gpu.downloadFloats(yRef), gpu.downloadFloats(sum), "add");
  }

  @ParameterizedTest
  @CsvSource({"37, 101, 200", "300, 7, 64"})
  void embedding(int tokens, int vocab, int dim) {
    float[] table = randomBf16(rnd, vocab * dim, 1);
    int[] ids = new int[tokens];
    for (int i = 0; i < tokens; i++) ids[i] = rnd.nextInt(vocab);  // repeats on purpose (vocab 7)
    Tensor cOut = cpu.allocate(DType.F32, tokens, dim);
    cpu.embeddingForward(cOut, Tensor.hostOf(ids, tokens), Tensor.hostOf(table, vocab, dim));
    Tensor gOut = gpu.allocate(DType.BF16, tokens, dim), gIds = i32(gpu, ids, tokens);
    gpu.embeddingForward(gOut, gIds, bf16(gpu, table, vocab, dim));
    assertArrayEquals(cOut.toFloatArray(), gpu.downloadFloats(gOut), "a gather is exact");

    float[] dy = randomBf16(rnd, tokens * dim, 1);
    Tensor cdt = cpu.allocate(DType.F32, vocab, dim);
    cpu.embeddingBackward(cdt, Tensor.hostOf(dy, tokens, dim), Tensor.hostOf(ids, tokens));
    Tensor gdt = gpu.allocate(DType.F32, vocab, dim), gdy = bf16(gpu, dy, tokens, dim);
    gpu.embeddingBackward(gdt, gdy, gIds);
    float[] first = gpu.downloadFloats(gdt);
    assertClose("embedding dTable", cdt.toFloatArray(), first, 1e-5);
    gpu.zero(gdt);
    gpu.embeddingBackward(gdt, gdy, gIds);
    assertArrayEquals(first, gpu.downloadFloats(gdt), "embedding backward must be bitwise deterministic");
  }

  @ParameterizedTest
  @CsvSource({"37, 3, 64, 50", "5, 16, 128, 4096"})
  void rope(int tokens, int heads, int hd, int maxPos) {
    float[] x = randomBf16(rnd, tokens * heads * hd, 1);
    int[] pos = new int[tokens];
    for (int i = 0; i < tokens; i++) pos[i] = rnd.nextInt(maxPos);
    int half = hd / 2;
    float[] cos = new float[maxPos * half], sin = new float[maxPos * half];
    for (int p = 0; p < maxPos; p++)
      for (int i = 0; i < half; i++) {
        double ang = p * Math.pow(1e6, -2.0 * i / hd);
        cos[p * half + i] = (float) Math.cos(ang);
        sin[p * half + i] = (float) Math.sin(ang);
      }
    Tensor cx = Tensor.hostOf(x, tokens, heads, hd), cPos = Tensor.hostOf(pos, tokens);
    Tensor cCos = Tensor.hostOf(cos, maxPos, half), cSin = Tensor.hostOf(sin, maxPos, half);
    cpu.ropeForward(cx, cPos, cCos, cSin);
    Tensor gx = bf16(gpu, x, tokens, heads, hd), gPos = i32(gpu, pos, tokens);
    Tensor gCos = f32(gpu, cos, maxPos, half), gSin = f32(gpu, sin, maxPos, half);
    gpu.ropeForward(gx, gPos, gCos, gSin);
    assertClose("rope forward", cx.toFloatArray(), gpu.downloadFloats(gx), ELEMENTWISE);
    cpu.ropeBackward(cx, cPos, cCos, cSin);
    gpu.ropeBackward(gx, gPos, gCos, gSin);
    assertClose("rope backward(forward(x)) = x", x, gpu.downloadFloats(gx), 2 * ELEMENTWISE);
    assertClose("rope backward", cx.toFloatArray(), gpu.downloadFloats(gx), 2 * ELEMENTWISE);
  }

  @ParameterizedTest
  @CsvSource({"1", "1000", "65537"})
  void swigluAndAdd(int n) {
    float[] g = randomBf16(rnd, n, 3), u = randomBf16(rnd, n, 1), dy = randomBf16(rnd, n, 1);
    Tensor cOut = cpu.allocate(DType.F32, n);
    cpu.swigluForward(cOut, Tensor.hostOf(g, n), Tensor.hostOf(u, n));
    Tensor gg = bf16(gpu, g, n), gu = bf16(gpu, u, n), gOut = gpu.allocate(DType.BF16, n);
    gpu.swigluForward(gOut, gg, gu);
    assertClose("swiglu", cOut.toFloatArray(), gpu.downloadFloats(gOut), ELEMENTWISE);
    Tensor cdg = cpu.allocate(DType.F32, n), cdu = cpu.allocate(DType.F32, n);
    cpu.swigluBackward(cdg, cdu, Tensor.hostOf(dy, n), Tensor.hostOf(g, n), Tensor.hostOf(u, n));
    Tensor gdg = gpu.allocate(DType.BF16, n), gdu = gpu.allocate(DType.BF16, n);
    gpu.swigluBackward(gdg, gdu, bf16(gpu, dy, n), gg, gu);
    assertClose("swiglu dgate", cdg.toFloatArray(), gpu.downloadFloats(gdg), ELEMENTWISE);
    assertClose("swiglu dup", cdu.toFloatArray(), gpu.downloadFloats(gdu), ELEMENTWISE);

    Tensor cAcc = Tensor.hostOf(u.clone(), n);
    cpu.addInPlace(cAcc, Tensor.hostOf(dy, n));
    Tensor gAcc = bf16(gpu, u, n);
    gpu.addInPlace(gAcc, bf16(gpu, dy, n));
    assertClose("add", cAcc.toFloatArray(), gpu.downloadFloats(gAcc), ELEMENTWISE);
  }

  @ParameterizedTest
  @CsvSource({"37, 200, 3", "130, 1024, 8"})
  void score(int tokens, int dim, int readouts) {
    float[] h = randomBf16(rnd, tokens * dim, 1), w = randomBf16(rnd, dim, 0.05);
    int[] ro = new int[readouts];
    for (int i = 0; i < readouts; i++) ro[i] = rnd.nextInt(tokens);
    Tensor cR = cpu.allocate(DType.F32, readouts);
    cpu.scoreForward(cR, Tensor.hostOf(h, tokens, dim), Tensor.hostOf(ro, readouts), Tensor.hostOf(w, dim));
    Tensor gR = gpu.allocate(DType.F32, readouts), gh = bf16(gpu, h, tokens, dim), gro = i32(gpu, ro, readouts);
    Tensor gw = bf16(gpu, w, dim);
    gpu.scoreForward(gR, gh, gro, gw);
    assertClose("rewards", cR.toFloatArray(), gpu.downloadFloats(gR), 1e-4);  // fp32 output, fp32 sum

    float[] dr = randomBf16(rnd, readouts, 1);
    Tensor cdh = cpu.allocate(DType.F32, tokens, dim), cdw = cpu.allocate(DType.F32, dim);
    cpu.scoreBackward(cdh, cdw, Tensor.hostOf(dr, readouts), Tensor.hostOf(h, tokens, dim), Tensor.hostOf(ro, readouts),
        Tensor.hostOf(w, dim));
    Tensor gdh = gpu.allocate(DType.BF16, tokens, dim), gdw = gpu.allocate(DType.F32, dim);
    gpu.scoreBackward(gdh, gdw, f32(gpu, dr, readouts), gh, gro, gw);
    assertClose("score dHidden", cdh.toFloatArray(), gpu.downloadFloats(gdh), ELEMENTWISE);
    assertClose("score dw", cdw.toFloatArray(), gpu.downloadFloats(gdw), 1e-4);
  }

  @ParameterizedTest
  @CsvSource({"37, 200, 72, true", "1, 64, 8, false", "257, 1000, 333, true"})
  void linear(int tokens, int in, int out, boolean withBias) {
    float[] x = randomBf16(rnd, tokens * in, 1), w = randomBf16(rnd, out * in, 1 / Math.sqrt(in));
    float[] b = withBias ? randomBf16(rnd, out, 1) : null, dy = randomBf16(rnd, tokens * out, 1);
    Tensor cx = Tensor.hostOf(x, tokens, in), cw = Tensor.hostOf(w, out, in), cb = b == null ? null : Tensor.hostOf(b, out);
    Tensor cy = cpu.allocate(DType.F32, tokens, out);
    cpu.linearForward(cy, cx, cw, cb);
    Tensor gx = bf16(gpu, x, tokens, in), gw = bf16(gpu, w, out, in), gb = b == null ? null : bf16(gpu, b, out);
    Tensor gy = gpu.allocate(DType.BF16, tokens, out);
    gpu.linearForward(gy, gx, gw, gb);
    assertClose("linear out", cy.toFloatArray(), gpu.downloadFloats(gy), REDUCTION);

    Tensor cdx = cpu.allocate(DType.F32, tokens, in), cdw = cpu.allocate(DType.F32, out, in);
    Tensor cdb = b == null ? null : cpu.allocate(DType.F32, out);
    cpu.linearBackward(cdx, cdw, cdb, Tensor.hostOf(dy, tokens, out), cx, cw);
    Tensor gdx = gpu.allocate(DType.BF16, tokens, in), gdw = gpu.allocate(DType.F32, out, in);
    Tensor gdb = b == null ? null : gpu.allocate(DType.F32, out);
    gpu.linearBackward(gdx, gdw, gdb, bf16(gpu, dy, tokens, out), gx, gw);
    assertClose("linear dx", cdx.toFloatArray(), gpu.downloadFloats(gdx), REDUCTION);
    assertClose("linear dw", cdw.toFloatArray(), gpu.downloadFloats(gdw), 1e-4);  // fp32 output
    if (b != null) assertClose("linear dbias", cdb.toFloatArray(), gpu.downloadFloats(gdb), 1e-4);
  }

  /**
   * The Backend overwrite/accumulate contract on the GPU, every backward op (see {@link GradContract}):
   * activation gradients (BF16) overwritten, parameter gradients (F32) accumulated. Tolerance 2^-7 of
   * (1 + max|new|): a BF16 rounding or a different fp32 summation order, far below the 0.5 a broken
   * contract moves an element by.
   */
  @Test
  void backwardFollowsTheAccumulateContract() {
    double tol = 0x1p-7;
    int tokens = 37, dim = 72, vocab = 11, ffn = 90, readouts = 5;
    Tensor x = bf16(gpu, randomBf16(rnd, tokens * dim, 1), tokens, dim), w = bf16(gpu, randomBf16(rnd, dim, 1), dim);
    Tensor dy = bf16(gpu, randomBf16(rnd, tokens * dim, 1), tokens, dim), rstd = gpu.allocate(DType.F32, tokens);
    gpu.rmsnormForward(gpu.allocate(DType.BF16, tokens, dim), rstd, x, w, 1e-6);
    GradContract.check(gpu, "cuda rmsnorm", tol, d -> gpu.rmsnormBackward(d[0], d[1], dy, x, w, rstd),
        GradContract.overwrite("dx", DType.BF16, tokens, dim), GradContract.accumulate("dw", DType.F32, dim));

    int[] idArr = new int[tokens];
    for (int i = 0; i < tokens; i++) idArr[i] = rnd.nextInt(vocab);
    Tensor ids = i32(gpu, idArr, tokens);
    GradContract.check(gpu, "cuda embedding", tol, d -> gpu.embeddingBackward(d[0], dy, ids),
        GradContract.accumulate("dTable", DType.F32, vocab, dim));

    int out = 40;
    Tensor lw = bf16(gpu, randomBf16(rnd, out * dim, 1 / Math.sqrt(dim)), out, dim);
    Tensor ly = bf16(gpu, randomBf16(rnd, tokens * out, 1), tokens, out);
    GradContract.check(gpu, "cuda linear", tol, d -> gpu.linearBackward(d[0], d[1], d[2], ly, x, lw),
        GradContract.overwrite("dx", DType.BF16, tokens, dim), GradContract.accumulate("dw", DType.F32, out, dim),
        GradContract.accumulate("dBias", DType.F32, out));

    int[] ro = new int[readouts];
    for (int i = 0; i < readouts; i++) ro[i] = rnd.nextInt(tokens);
    Tensor gro = i32(gpu, ro, readouts), dr = f32(gpu, randomBf16(rnd, readouts, 1), readouts);
    GradContract.check(gpu, "cuda score", tol, d -> gpu.scoreBackward(d[0], d[1], dr, x, gro, w),
        GradContract.overwrite("dHidden", DType.BF16, tokens, dim), GradContract.accumulate("dw", DType.F32, dim));

    Tensor gate = bf16(gpu, randomBf16(rnd, tokens * ffn, 3), tokens, ffn), up = bf16(gpu, randomBf16(rnd, tokens * ffn, 1), tokens, ffn);
    Tensor dOut = bf16(gpu, randomBf16(rnd, tokens * ffn, 1), tokens, ffn);
    GradContract.check(gpu, "cuda swiglu", tol, d -> gpu.swigluBackward(d[0], d[1], dOut, gate, up),
        GradContract.overwrite("dGate", DType.BF16, tokens, ffn), GradContract.overwrite("dUp", DType.BF16, tokens, ffn));
    GradContract.check(gpu, "cuda addInPlace", tol, d -> gpu.addInPlace(d[0], dy),
        GradContract.accumulate("acc", DType.BF16, tokens, dim));

    int[] cu = {0, 20, 20, tokens};  // an empty sequence in the middle
    int[] seg = new int[tokens];
    for (int t = 25; t < tokens; t++) seg[t] = t < 31 ? 1 : 2;
    VarlenLayout layout = new VarlenLayout(i32(gpu, cu, 4), i32(gpu, seg, tokens), 3, tokens, 20);
    int hq = 4, hkv = 2, hd = 64;
    Tensor q = bf16(gpu, randomBf16(rnd, tokens * hq * hd, 1), tokens, hq, hd);
    Tensor k = bf16(gpu, randomBf16(rnd, tokens * hkv * hd, 1), tokens, hkv, hd);
    Tensor v = bf16(gpu, randomBf16(rnd, tokens * hkv * hd, 1), tokens, hkv, hd);
    Tensor ao = gpu.allocate(DType.BF16, tokens, hq, hd), lse = gpu.allocate(DType.F32, hq, tokens);
    Tensor ado = bf16(gpu, randomBf16(rnd, tokens * hq * hd, 1), tokens, hq, hd);
    gpu.attentionForward(ao, lse, q, k, v, layout, 1 / Math.sqrt(hd));
    GradContract.check(gpu, "cuda attention", tol,
        d -> gpu.attentionBackward(d[0], d[1], d[2], ado, q, k, v, ao, lse, layout, 1 / Math.sqrt(hd)),
        GradContract.overwrite("dq", DType.BF16, tokens, hq, hd), GradContract.overwrite("dk", DType.BF16, tokens, hkv, hd),
        GradContract.overwrite("dv", DType.BF16, tokens, hkv, hd));

    Tensor rewards = f32(gpu, randomBf16(rnd, 6, 1.5), 6);
    Tensor chosen = i32(gpu, new int[] {0, 2, 4}, 3), rejected = i32(gpu, new int[] {1, 3, 5}, 3);
    GradContract.check(gpu, "cuda rewardLoss", tol,
        d -> gpu.rewardLoss(rewards, chosen, rejected, null, d[0], Backend.RewardLossSpec.ranking(), 0.5),
        GradContract.overwrite("dRewards", DType.F32, 6));
  }

  @Test
  void arenasStopAllocatingAfterWarmUp() {
    DeviceArena act = gpu.activations();
    for (int step = 0; step < 3; step++) {
      act.reset();
      for (int i = 0; i < 10; i++) gpu.allocate(act, DType.BF16, 1000 + i, 513);
      if (step == 0) continue;
      long before = gpu.mallocCount();
      act.reset();
      for (int i = 0; i < 10; i++) gpu.allocate(act, DType.BF16, 1000 + i, 513);
      org.junit.jupiter.api.Assertions.assertEquals(before, gpu.mallocCount(), "cudaMalloc after warm-up");
    }
    // The caching allocator behind allocate(): closed blocks come back for the same shapes.
    for (int step = 0; step < 3; step++) {
      long before = gpu.mallocCount();
      Tensor[] ts = new Tensor[5];
      for (int i = 0; i < ts.length; i++) ts[i] = gpu.allocate(DType.F32, 777, 3 + i);
      for (Tensor t : ts) t.close();
      if (step > 0) org.junit.jupiter.api.Assertions.assertEquals(before, gpu.mallocCount(), "allocate/close reuses blocks");
    }
  }
}
