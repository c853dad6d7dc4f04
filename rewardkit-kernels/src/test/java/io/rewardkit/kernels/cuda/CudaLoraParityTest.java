package io.rewardkit.kernels.cuda;

import static io.rewardkit.kernels.cuda.CudaTestSupport.assertClose;
import static io.rewardkit.kernels.cuda.CudaTestSupport.bf16;
import static io.rewardkit.kernels.cuda.CudaTestSupport.f32;
import static io.rewardkit.kernels.cuda.CudaTestSupport.randomBf16;

import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.GradContract;
import io.rewardkit.kernels.Nf4Linear;
import io.rewardkit.kernels.Nf4Weight;
import io.rewardkit.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * LoRA and QLoRA on the CUDA backend (cuBLASLt GEMMs of {@link LoraGemms}; NF4 dequantisation by nf4.cu into a
 * bf16 scratch, then the base GEMM, as {@link Nf4Linear} does on every backend) against the CPU backend (F32)
 * on the same bf16-rounded inputs. Skipped without a GPU (tag gpu, seeded: see {@link CudaTestBase}).
 *
 * <p>Tolerances, relative to the largest reference magnitude: the GPU rounds u = x·Aᵀ and du = s·dOut·B to
 * bf16 (2^-9 relative each) before the next GEMM reads them, and rounds out and dx to bf16 once more; the
 * reductions are fp32 in both. Outputs that are bf16 (out, u, du, dx) get 2^-5, as the base linear's parity
 * test ({@code CudaOpsParityTest.linear}); the fp32 parameter gradients da, db inherit du's and u's bf16
 * rounding through a sum over T tokens and get 2^-6. QLoRA adds the dequantised weight's bf16 rounding (the
 * kernel's output is bf16 of the CPU's fp32 dequantisation, tools/kernel_emu nf4), another 2^-9 per weight, so
 * it keeps 2^-5. A wrong transpose, scale or accumulate flag is an order-one error.
 */
class CudaLoraParityTest extends CudaTestBase {
  private static final double BF16_OUT = 0x1p-5;
  private static final double FP32_GRAD = 0x1p-6;

  @ParameterizedTest(name = "T={0} I={1} O={2} r={3} s={4}")
  @CsvSource({"37, 200, 72, 8, 2.0", "1, 64, 8, 4, 0.5", "257, 1000, 333, 16, 4.0", "130, 896, 128, 64, 0.25"})
  void loraForwardBackwardMatchTheCpu(int tokens, int in, int out, int rank, double scale) {
    float[] x = randomBf16(rnd, tokens * in, 1), a = randomBf16(rnd, rank * in, 1 / Math.sqrt(in));
    float[] b = randomBf16(rnd, out * rank, 1 / Math.sqrt(rank)), base = randomBf16(rnd, tokens * out, 0.5);
    float[] dOut = randomBf16(rnd, tokens * out, 1), dx0 = randomBf16(rnd, tokens * in, 1);
    float[] da0 = randomBf16(rnd, rank * in, 1), db0 = randomBf16(rnd, out * rank, 1);

    Tensor cx = Tensor.hostOf(x, tokens, in), ca = Tensor.hostOf(a, rank, in), cb = Tensor.hostOf(b, out, rank);
    Tensor cOut = Tensor.hostOf(base.clone(), tokens, out), cU = cpu.allocate(DType.F32, tokens, rank);
    cpu.loraForward(cOut, cU, cx, ca, cb, scale);
    Tensor gx = bf16(gpu, x, tokens, in), ga = bf16(gpu, a, rank, in), gb = bf16(gpu, b, out, rank);
    Tensor gOut = bf16(gpu, base, tokens, out), gU = gpu.allocate(DType.BF16, tokens, rank);
    gpu.loraForward(gOut, gU, gx, ga, gb, scale);
    assertClose("lora u", cU.toFloatArray(), gpu.downloadFloats(gU), BF16_OUT);
    assertClose("lora out (base + s·u·bT)", cOut.toFloatArray(), gpu.downloadFloats(gOut), BF16_OUT);

    Tensor cdx = Tensor.hostOf(dx0.clone(), tokens, in), cda = Tensor.hostOf(da0.clone(), rank, in);
    Tensor cdb = Tensor.hostOf(db0.clone(), out, rank), cdu = cpu.allocate(DType.F32, tokens, rank);
    cpu.loraBackward(cdx, cda, cdb, cdu, Tensor.hostOf(dOut, tokens, out), cx, cU, ca, cb, scale);
    Tensor gdx = bf16(gpu, dx0, tokens, in), gda = f32(gpu, da0, rank, in), gdb = f32(gpu, db0, out, rank);
    Tensor gdu = gpu.allocate(DType.BF16, tokens, rank);
    gpu.loraBackward(gdx, gda, gdb, gdu, bf16(gpu, dOut, tokens, out), gx, gU, ga, gb, scale);
    assertClose("lora du", cdu.toFloatArray(), gpu.downloadFloats(gdu), BF16_OUT);
    assertClose("lora dx (accumulated)", cdx.toFloatArray(), gpu.downloadFloats(gdx), BF16_OUT);
    assertClose("lora da (accumulated)", cda.toFloatArray(), gpu.downloadFloats(gda), FP32_GRAD);
    assertClose("lora db (accumulated)", cdb.toFloatArray(), gpu.downloadFloats(gdb), FP32_GRAD);

    // dx null: the same parameter gradients
    Tensor gda2 = f32(gpu, da0, rank, in), gdb2 = f32(gpu, db0, out, rank);
    gpu.loraBackward(null, gda2, gdb2, gdu, bf16(gpu, dOut, tokens, out), gx, gU, ga, gb, scale);
    assertClose("lora da without dx", gpu.downloadFloats(gda), gpu.downloadFloats(gda2), 1e-6);
    assertClose("lora db without dx", gpu.downloadFloats(gdb), gpu.downloadFloats(gdb2), 1e-6);
  }

  /** The Backend contract: dx, da, db accumulated, du overwritten (tolerance as CudaOpsParityTest's contract check). */
  @Test
  void loraBackwardFollowsTheAccumulateContract() {
    int tokens = 37, in = 72, out = 40, rank = 8;
    double scale = 2.0;
    Tensor x = bf16(gpu, randomBf16(rnd, tokens * in, 1), tokens, in);
    Tensor a = bf16(gpu, randomBf16(rnd, rank * in, 1 / Math.sqrt(in)), rank, in);
    Tensor b = bf16(gpu, randomBf16(rnd, out * rank, 1 / Math.sqrt(rank)), out, rank);
    Tensor dOut = bf16(gpu, randomBf16(rnd, tokens * out, 1), tokens, out), u = gpu.allocate(DType.BF16, tokens, rank);
    gpu.loraForward(gpu.allocate(DType.BF16, tokens, out), u, x, a, b, scale);
    GradContract.check(gpu, "cuda lora", 0x1p-7, d -> gpu.loraBackward(d[0], d[1], d[2], d[3], dOut, x, u, a, b, scale),
        GradContract.accumulate("dx", DType.BF16, tokens, in), GradContract.accumulate("da", DType.F32, rank, in),
        GradContract.accumulate("db", DType.F32, out, rank), GradContract.overwrite("du", DType.BF16, tokens, rank));
  }

  /**
   * QLoRA's layer: the frozen base in NF4 (quantised from the same bf16 weight on both backends, so the codes are
   * identical), dequantised into a scratch and multiplied, then the LoRA path; backward dx = dOut · deq(W) plus
   * LoRA's dx, and the adapter gradients.
   */
  @ParameterizedTest(name = "T={0} I={1} O={2} r={3}")
  @CsvSource({"37, 192, 80, 8", "300, 896, 128, 16"})
  void qloraLayerMatchesTheCpu(int tokens, int in, int out, int rank) {
    double scale = 16.0 / rank;
    float[] w = randomBf16(rnd, out * in, 1 / Math.sqrt(in)), x = randomBf16(rnd, tokens * in, 1);
    float[] a = randomBf16(rnd, rank * in, 1 / Math.sqrt(in)), b = randomBf16(rnd, out * rank, 1 / Math.sqrt(rank));
    float[] dOut = randomBf16(rnd, tokens * out, 1);

    try (Nf4Weight cw = Nf4Weight.quantize(cpu, Tensor.hostOf(w, out, in));
         Nf4Weight gw = Nf4Weight.quantize(gpu, bf16(gpu, w, out, in))) {
      Tensor cx = Tensor.hostOf(x, tokens, in), ca = Tensor.hostOf(a, rank, in), cb = Tensor.hostOf(b, out, rank);
      Tensor cOut = cpu.allocate(DType.F32, tokens, out), cU = cpu.allocate(DType.F32, tokens, rank);
      Tensor cScratch = cpu.allocate(DType.F32, out, in);
      Nf4Linear.forward(cpu, cOut, cx, cw, null, cScratch);
      cpu.loraForward(cOut, cU, cx, ca, cb, scale);
      Tensor gx = bf16(gpu, x, tokens, in), ga = bf16(gpu, a, rank, in), gb = bf16(gpu, b, out, rank);
      Tensor gOut = gpu.allocate(DType.BF16, tokens, out), gU = gpu.allocate(DType.BF16, tokens, rank);
      Tensor gScratch = gpu.allocate(DType.BF16, out, in);
      Nf4Linear.forward(gpu, gOut, gx, gw, null, gScratch);
      gpu.loraForward(gOut, gU, gx, ga, gb, scale);
      assertClose("qlora out", cOut.toFloatArray(), gpu.downloadFloats(gOut), BF16_OUT);

      Tensor cdx = cpu.allocate(DType.F32, tokens, in), cda = cpu.allocate(DType.F32, rank, in);
      Tensor cdb = cpu.allocate(DType.F32, out, rank), cdu = cpu.allocate(DType.F32, tokens, rank);
      Tensor cdOut = Tensor.hostOf(dOut, tokens, out);
      Nf4Linear.backward(cpu, cdx, cdOut, cx, cw, cScratch);
      cpu.loraBackward(cdx, cda, cdb, cdu, cdOut, cx, cU, ca, cb, scale);
      Tensor gdx = gpu.allocate(DType.BF16, tokens, in), gda = gpu.allocate(DType.F32, rank, in);
      Tensor gdb = gpu.allocate(DType.F32, out, rank), gdu = gpu.allocate(DType.BF16, tokens, rank);
      Tensor gdOut = bf16(gpu, dOut, tokens, out);
      Nf4Linear.backward(gpu, gdx, gdOut, gx, gw, gScratch);
      gpu.loraBackward(gdx, gda, gdb, gdu, gdOut, gx, gU, ga, gb, scale);
      assertClose("qlora dx (base + lora)", cdx.toFloatArray(), gpu.downloadFloats(gdx), BF16_OUT);
      assertClose("qlora da", cda.toFloatArray(), gpu.downloadFloats(gda), FP32_GRAD);
      assertClose("qlora db", cdb.toFloatArray(), gpu.downloadFloats(gdb), FP32_GRAD);
    }
  }
}
