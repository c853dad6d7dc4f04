package io.rewardkit.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.rewardkit.RewardKitException;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backend.RewardLossSpec;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.CudaSupport;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.TrainableModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Optimizer state through the Backend interface: StateFile's chunked device transfers, master weights
 * beside lower-precision working weights, and (on a GPU) the CUDA training ops against the CPU reference.
 */
class OptimizerStateTest {
  static final CpuBackend CPU = new CpuBackend();
  @TempDir Path tmp;

  private static float[] gaussian(SplittableRandom rnd, int n, double std) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextGaussian() * std);
    return x;
  }

  // ---- CPU (always runs) ----------------------------------------------------------------------

  @Test void stateFileRoundTripsMoreThanOneChunkBitExactly() throws Exception {
    SplittableRandom rnd = new SplittableRandom(7);
    int big = (1 << 20) * 2 + 3;  // three transfer chunks, the last partial
    float[] a = gaussian(rnd, big, 1.0);
    a[5] = Float.intBitsToFloat(0x7fc01234);  // a NaN payload must survive
    a[big - 1] = -0.0f;
    Tensor whole = Tensor.hostOf(new float[big + 10], big + 10);
    Tensor view = whole.view(10, big);  // a view at a non-zero offset, like a parameter in a flat buffer
    CPU.upload(view, a);
    Map<String, Tensor> out = new LinkedHashMap<>();
    out.put("big", view);
    out.put("small", Tensor.hostOf(new float[] {1, 2, 3}, 3));
    Path f = tmp.resolve("state.safetensors");
    StateFile.write(CPU, f, out);

    Tensor backBig = Tensor.host(DType.F32, big), backSmall = Tensor.host(DType.F32, 3);
    Map<String, Tensor> in = new LinkedHashMap<>();
    in.put("big", backBig);
    in.put("small", backSmall);
    StateFile.read(CPU, f, in);
    float[] got = CPU.downloadFloats(backBig);
    for (int i = 0; i < big; i++) {
      assertEquals(Float.floatToRawIntBits(a[i]), Float.floatToRawIntBits(got[i]), "element " + i);
    }
    assertArrayEquals(new float[] {1, 2, 3}, CPU.downloadFloats(backSmall));

    Map<String, Tensor> wrong = new LinkedHashMap<>();
    wrong.put("big", Tensor.host(DType.F32, big - 1));
    wrong.put("small", backSmall);
    assertThrows(RewardKitException.class, () -> StateFile.read(CPU, f, wrong));
  }

  @Test void f32WeightsAreTheirOwnMasterOnCpu() throws Exception {
    Tensor w = Tensor.hostOf(new float[] {0.5f, -1f}, 2), dw = Tensor.hostOf(new float[] {0.1f, 0.2f}, 2);
    assertSame(w, CPU.masterWeights(w));
    // A separate F32 working tensor receives exactly the master's update.
    Tensor master = Tensor.hostOf(new float[] {0.5f, -1f}, 2), copy = Tensor.host(DType.F32, 2);
    Tensor m = Tensor.host(DType.F32, 2), v = Tensor.host(DType.F32, 2);
    CPU.adamwUpdate(master, copy, dw, m, v, new Backend.AdamWStep(0.01, 0.9, 0.999, 1e-8, 0.1, 1, 1.0));
    assertArrayEquals(CPU.downloadFloats(master), CPU.downloadFloats(copy));
    assertEquals(-1f + 0.01f * 0.1f - 0.01f, CPU.downloadFloats(master)[1], 1e-6f);
  }

  // ---- CUDA (skips without a GPU) -------------------------------------------------------------

  private static Backend gpu() {
    CudaSupport.Probe p = CudaSupport.probe();
    Assumptions.assumeTrue(p.available(), "no CUDA device: " + p.detail());
    return CudaSupport.open();
  }

  private static float[] roundBf16(float[] x) {
    float[] r = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      int bits = Float.floatToRawIntBits(x[i]);
      r[i] = Float.intBitsToFloat(((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) << 16);
    }
    return r;
  }

  @Tag("gpu") @Test void cudaTrainingOpsMatchCpu() {
    try (Backend gpu = gpu()) {
      SplittableRandom rnd = new SplittableRandom(11);
      int r = 9, p = 4;
      float[] rewards = gaussian(rnd, r, 2.0), margins = {0, 0.5f, 0, 1};
      int[] chosen = {0, 2, 4, 6}, rejected = {1, 3, 5, 8};
      for (RewardLossSpec spec : List.of(RewardLossSpec.ranking(),
          new RewardLossSpec(RewardLossSpec.FOCAL, 2.0, RewardLossSpec.LOG_BARRIER, 0.3, -3, 3, 0.01),
          new RewardLossSpec(RewardLossSpec.RANKING, 2.0, RewardLossSpec.L2, 0.1, -5, 5, 0.02))) {
        Tensor cr = Tensor.hostOf(rewards, r), cc = Tensor.hostOf(chosen, p), cj = Tensor.hostOf(rejected, p);
        Tensor cm = Tensor.hostOf(margins, p), cd = Tensor.host(DType.F32, r);
        double[] want = CPU.rewardLoss(cr, cc, cj, cm, cd, spec, 0.25);
        try (Tensor gr = gpu.allocate(DType.F32, r); Tensor gc = gpu.allocate(DType.I32, p);
             Tensor gj = gpu.allocate(DType.I32, p); Tensor gm = gpu.allocate(DType.F32, p);
             Tensor gd = gpu.allocate(DType.F32, r)) {
          gpu.upload(gr, rewards); gpu.upload(gc, chosen); gpu.upload(gj, rejected); gpu.upload(gm, margins);
          double[] got = gpu.rewardLoss(gr, gc, gj, gm, gd, spec, 0.25);
          assertEquals(RewardLossSpec.NUM_STATS, got.length);
          for (int k = 0; k < want.length; k++) assertEquals(want[k], got[k], 1e-12 * (1 + Math.abs(want[k])), "stat " + k);
          float[] dw = CPU.downloadFloats(cd), dg = gpu.downloadFloats(gd);
          for (int k = 0; k < r; k++) assertEquals(dw[k], dg[k], 1e-6f * (1 + Math.abs(dw[k])), "dRewards " + k);
        }
      }

      int n = 300_001;
      float[] g = gaussian(rnd, n, 0.01);
      double ss = CPU.gradSumSquares(Tensor.hostOf(g, n));
      try (Tensor gg = gpu.allocate(DType.F32, n)) {
        gpu.upload(gg, g);
        assertEquals(ss, gpu.gradSumSquares(gg), 1e-12 * ss);  // double partial sums on the GPU, as on the CPU
      }
    }
  }

  /** BF16 working weights and F32 grads in GPU arenas (p0 decay, p1 no-decay) from the same host values each time. */
  private static TestArena gpuParams(Backend gpu, float[][] w, float[][] g) {
    return TestArena.of(gpu, DType.BF16, new String[] {"p0", "p1"}, w, g, new boolean[] {true, false}, 5);
  }

  @Tag("gpu") @Test void cudaOptimizerKeepsFp32MastersAndResumesExactly() throws Exception {
    try (Backend gpu = gpu()) {
      SplittableRandom rnd = new SplittableRandom(3);
      float[][] w = {roundBf16(gaussian(rnd, 4097, 0.1)), roundBf16(gaussian(rnd, 64, 1.0))};
      float[][] g = {gaussian(rnd, 4097, 0.01), gaussian(rnd, 64, 0.01)};

      // CPU reference: the same values as F32 parameters (their own masters).
      TestArena cpuArena = TestArena.of(CPU, DType.F32, new String[] {"p0", "p1"}, w, g, new boolean[] {true, false}, 5);
      AdamWOptimizer cpuOpt = cpuArena.optimizer(CPU, 0.9, 0.95, 1e-8, 0.1);

      TestArena arena = gpuParams(gpu, w, g);
      List<TrainableModel.Param> ps = arena.params();
      AdamWOptimizer opt = arena.optimizer(gpu, 0.9, 0.95, 1e-8, 0.1);
      for (int s = 0; s < 2; s++) {
        double clip = AdamWOptimizer.clipScale(opt.gradNorm(), 0.05);
        assertEquals(AdamWOptimizer.clipScale(cpuOpt.gradNorm(), 0.05), clip, 1e-12);
        opt.update(1e-3, clip);
        cpuOpt.update(1e-3, AdamWOptimizer.clipScale(cpuOpt.gradNorm(), 0.05));
      }
      Path a = tmp.resolve("a.safetensors"), b = tmp.resolve("b.safetensors"), c = tmp.resolve("c.safetensors");
      opt.save(a);
      cpuOpt.save(c);
      // The checkpointed masters are fp32 and track the CPU run to fp32 rounding (not bf16 rounding).
      Map<String, Tensor> gpuState = new LinkedHashMap<>(), cpuState = new LinkedHashMap<>();
      for (int i = 0; i < 2; i++) {
        for (String suffix : new String[] {"", ".exp_avg", ".exp_avg_sq"}) {
          gpuState.put("p" + i + suffix, Tensor.host(DType.F32, w[i].length));
          cpuState.put("p" + i + suffix, Tensor.host(DType.F32, w[i].length));
        }
      }
      StateFile.read(CPU, a, gpuState);
      StateFile.read(CPU, c, cpuState);
      for (String k : gpuState.keySet()) {
        float[] x = CPU.downloadFloats(cpuState.get(k)), y = CPU.downloadFloats(gpuState.get(k));
        for (int i = 0; i < x.length; i++) assertEquals(x[i], y[i], 1e-6f * (1 + Math.abs(x[i])), k + "[" + i + "]");
      }
      float[] master0 = CPU.downloadFloats(gpuState.get("p0"));
      assertArrayEquals(roundBf16(master0), gpu.downloadFloats(ps.get(0).weight()), "working weights = bf16(master)");

      // Resume into fresh tensors: same state bytes, same working weights, same next step.
      TestArena arena2 = gpuParams(gpu, new float[][] {new float[4097], new float[64]}, g);
      List<TrainableModel.Param> ps2 = arena2.params();
      AdamWOptimizer opt2 = arena2.optimizer(gpu, 0.9, 0.95, 1e-8, 0.1);
      assertNotSame(ps2.get(0).weight(), gpu.masterWeights(ps2.get(0).weight()));
      opt2.load(a, opt.step());
      for (int i = 0; i < 2; i++) {
        assertArrayEquals(gpu.downloadFloats(ps.get(i).weight()), gpu.downloadFloats(ps2.get(i).weight()), "weights " + i);
      }
      opt.update(1e-3, 0.5);
      opt2.update(1e-3, 0.5);
      opt.save(a);
      opt2.save(b);
      assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b), "resumed optimizer state differs");
    }
  }
}
