package io.rewardkit.kernels.cuda;

import static io.rewardkit.kernels.cuda.CudaTestSupport.assertClose;
import static io.rewardkit.kernels.cuda.CudaTestSupport.bf16;
import static io.rewardkit.kernels.cuda.CudaTestSupport.i32;
import static io.rewardkit.kernels.cuda.CudaTestSupport.randomBf16;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.kernels.VarlenLayout;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Varlen FlashAttention-2 forward/backward against the CPU reference: GQA, every head-dim bucket,
 * sequences shorter and longer than a 64-row tile, shared-prefix segments, both dQ modes.
 *
 * <p>Tolerances: the kernel rounds P (and dS) to bf16 before the P·V (dS·K, dS^T·Q) tensor-core
 * GEMMs, as FlashAttention does: each term carries up to 2^-9 relative error, the sums are convex
 * combinations (forward) or sums of ~L terms (backward), then rounded to bf16 once more. 2^-6 of the
 * largest reference magnitude for outputs and 2^-4.5 for gradients leave room for that, while a
 * wrong mask, scale or GQA mapping produces errors of order 1.
 */
class CudaAttentionParityTest extends CudaTestBase {
  /** Sequences [1, 70, 129] tokens; with segments the 129-token one is [prompt 40 | chosen 50 | rejected 39]. */
  private static int[] cuSeqlens() { return new int[] {0, 1, 71, 200}; }

  private static int[] segments() {
    int[] seg = new int[200];
    Arrays.fill(seg, 71 + 40, 71 + 90, 1);
    Arrays.fill(seg, 71 + 90, 200, 2);
    Arrays.fill(seg, 1, 71, 0);
    return seg;
  }

  @ParameterizedTest
  @CsvSource({"64, 4, 2, false, true", "128, 6, 1, true, true", "64, 2, 2, true, false", "128, 4, 4, false, false",
      // every head-dim bucket (8 and 16 zero-padded to 32, 80 to 96, 160 to 192, 200 to 256): the project's own small
      // models use 8, 16 and 32
      "8, 4, 2, true, true", "16, 2, 1, false, false", "32, 3, 3, true, true", "80, 4, 2, true, false",
      "96, 2, 2, false, true", "160, 2, 1, true, true", "200, 2, 2, false, false", "256, 2, 1, true, true"})
  void forwardAndBackward(int hd, int hq, int hkv, boolean withSegments, boolean deterministic) {
    gpu.setDeterministic(deterministic);
    int t = 200;
    int[] cu = cuSeqlens(), seg = withSegments ? segments() : null;
    double scale = 1 / Math.sqrt(hd);
    float[] q = randomBf16(rnd, t * hq * hd, 1), k = randomBf16(rnd, t * hkv * hd, 1), v = randomBf16(rnd, t * hkv * hd, 1);
    float[] dOut = randomBf16(rnd, t * hq * hd, 1);

    VarlenLayout cLayout = new VarlenLayout(Tensor.hostOf(cu, 4), seg == null ? null : Tensor.hostOf(seg, t), 3, t, 129);
    Tensor cq = Tensor.hostOf(q, t, hq, hd), ck = Tensor.hostOf(k, t, hkv, hd), cv = Tensor.hostOf(v, t, hkv, hd);
    Tensor cOut = cpu.allocate(DType.F32, t, hq, hd), cLse = cpu.allocate(DType.F32, hq, t);
    cpu.attentionForward(cOut, cLse, cq, ck, cv, cLayout, scale);

    VarlenLayout gLayout = new VarlenLayout(i32(gpu, cu, 4), seg == null ? null : i32(gpu, seg, t), 3, t, 129);
    Tensor gq = bf16(gpu, q, t, hq, hd), gk = bf16(gpu, k, t, hkv, hd), gv = bf16(gpu, v, t, hkv, hd);
    Tensor gOut = gpu.allocate(DType.BF16, t, hq, hd), gLse = gpu.allocate(DType.F32, hq, t);
    gpu.attentionForward(gOut, gLse, gq, gk, gv, gLayout, scale);
    assertClose("attention out", cOut.toFloatArray(), gpu.downloadFloats(gOut), 0x1p-6);
    assertClose("attention lse", cLse.toFloatArray(), gpu.downloadFloats(gLse), 1e-4);

    // Backward from the GPU's own (bf16) output, as training does; the CPU uses the same values.
    float[] gOutHost = gpu.downloadFloats(gOut);
    Tensor cdq = cpu.allocate(DType.F32, t, hq, hd), cdk = cpu.allocate(DType.F32, t, hkv, hd);
    Tensor cdv = cpu.allocate(DType.F32, t, hkv, hd);
    cpu.attentionBackward(cdq, cdk, cdv, Tensor.hostOf(dOut, t, hq, hd), cq, ck, cv, Tensor.hostOf(gOutHost, t, hq, hd),
        cLse, cLayout, scale);
    Tensor gdq = gpu.allocate(DType.BF16, t, hq, hd), gdk = gpu.allocate(DType.BF16, t, hkv, hd);
    Tensor gdv = gpu.allocate(DType.BF16, t, hkv, hd), gdOut = bf16(gpu, dOut, t, hq, hd);
    gpu.attentionBackward(gdq, gdk, gdv, gdOut, gq, gk, gv, gOut, gLse, gLayout, scale);
    double gradTol = Math.pow(2, -4.5);
    assertClose("attention dq", cdq.toFloatArray(), gpu.downloadFloats(gdq), gradTol);
    assertClose("attention dk", cdk.toFloatArray(), gpu.downloadFloats(gdk), gradTol);
    assertClose("attention dv", cdv.toFloatArray(), gpu.downloadFloats(gdv), gradTol);

    if (deterministic) {
      float[] dq1 = gpu.downloadFloats(gdq), dk1 = gpu.downloadFloats(gdk);
      gpu.attentionBackward(gdq, gdk, gdv, gdOut, gq, gk, gv, gOut, gLse, gLayout, scale);
      assertArrayEquals(dq1, gpu.downloadFloats(gdq), "deterministic dq");
      assertArrayEquals(dk1, gpu.downloadFloats(gdk), "deterministic dk");
    }

    if (withSegments) {
      // Rejected tokens must not see chosen ones: changing chosen keys/values leaves them bitwise equal.
      float[] k2 = k.clone(), v2 = v.clone();
      for (int tok = 71 + 40; tok < 71 + 90; tok++)
        for (int i = 0; i < hkv * hd; i++) { k2[tok * hkv * hd + i] *= -2; v2[tok * hkv * hd + i] += 1; }
      Tensor gOut2 = gpu.allocate(DType.BF16, t, hq, hd), gLse2 = gpu.allocate(DType.F32, hq, t);
      gpu.attentionForward(gOut2, gLse2, gq, bf16(gpu, k2, t, hkv, hd), bf16(gpu, v2, t, hkv, hd), gLayout, scale);
      float[] a = gpu.downloadFloats(gOut), b = gpu.downloadFloats(gOut2);
      int from = (71 + 90) * hq * hd;
      assertArrayEquals(Arrays.copyOfRange(a, from, a.length), Arrays.copyOfRange(b, from, b.length),
          "rejected outputs depend on chosen tokens");
      int chosenRow = (71 + 60) * hq * hd;
      assertEquals(false, Arrays.equals(Arrays.copyOfRange(a, chosenRow, chosenRow + hd),
          Arrays.copyOfRange(b, chosenRow, chosenRow + hd)), "chosen outputs must change (test is live)");
    }
  }
}
