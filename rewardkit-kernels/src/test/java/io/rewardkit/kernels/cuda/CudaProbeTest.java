package io.rewardkit.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.kernels.BackendUnavailableException;
import io.rewardkit.kernels.Backends;
import io.rewardkit.kernels.CudaSupport;
import io.rewardkit.kernels.OpParams;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Runs everywhere: the probe, the error for --device cuda, and class isolation of the CPU path. */
class CudaProbeTest {

  @Test
  void probeNeverThrowsAndExplainsUnavailability() {
    CudaSupport.Probe p = CudaSupport.probe();
    assertTrue(p.detail() != null && !p.detail().isBlank(), "probe must always say something");
    assertEquals(p, CudaSupport.probe(), "probe is cached per JVM");
    if (!p.available()) {
      // Either the real cudaGetDeviceCount error (kernels built) or the fallback library's reason.
      assertTrue(p.detail().contains("cudaGetDeviceCount") || p.detail().startsWith("built without CUDA"),
          "unexpected reason: " + p.detail());
    }
  }

  @Test
  void fallbackLibraryMatchesProbe() {
    CudaSupport.probe();
    boolean kernels = CudaRuntime.built_with_cuda() == 1;
    if (!kernels) {
      assertTrue(CudaSupport.probe().detail().startsWith("built without CUDA"), CudaSupport.probe().detail());
      RuntimeException e = assertThrows(RuntimeException.class, () -> CudaRuntime.device_malloc(16));
      assertTrue(e.getMessage().contains("built without CUDA"), e.getMessage());
    }
  }

  /**
   * The JNI path of the kernel API without a GPU: arguments are validated once at the C++ boundary
   * (std::invalid_argument -> Java exception naming the op), and a launch without a driver reports
   * the CUDA error instead of crashing.
   */
  @Test
  void kernelApiValidatesAndReportsCudaErrorsThroughJni() {
    CudaSupport.probe();
    Assumptions.assumeTrue(CudaRuntime.built_with_cuda() == 1, "fallback library: no kernels to call");
    RuntimeException e = assertThrows(RuntimeException.class,
        () -> FlashAttention.flash_attention_forward(0, 0, 0, 0, 0, 0, 0, 1, 8, 8, 4, 2, 100, 0.1f, 0));
    assertTrue(e.getMessage().contains("flash_attention_forward")
        && e.getMessage().contains("head_dim must be a multiple of 8 in [8, 256], got 100"), e.getMessage());
    // The params structs' validate() (native/include/rewardkit/<op>.h) is the check the CUDA entry points run.
    e = assertThrows(RuntimeException.class, () -> CudaOps.rmsnorm_forward(0, 0, 0, 0, OpParams.rmsnorm(4, 0, 1e-6), 0));
    assertTrue(e.getMessage().contains("rmsnorm_forward: dim must be > 0, got 0"), e.getMessage());
    e = assertThrows(RuntimeException.class, () -> CudaOps.embedding_forward(0, 0, 0,
        new io.rewardkit.kernels.cpu.EmbeddingParams().tokens(3).vocab(0).dim(8), 0));
    assertTrue(e.getMessage().contains("embedding_forward: vocab must be > 0, got 0"), e.getMessage());
    e = assertThrows(RuntimeException.class, () -> CudaOps.adamw_update(0, 0, 0, 0, 0,
        new io.rewardkit.kernels.cpu.AdamWParams().n(1).lr(1e-3).beta1(1.5).beta2(0.9).eps(1e-8)
            .bias_correction1(1).bias_correction2(1).grad_scale(1), 0));
    assertTrue(e.getMessage().contains("adamw_update: betas must be in [0, 1)"), e.getMessage());
    e = assertThrows(RuntimeException.class,
        () -> FlashAttention.flash_attention_forward(0, 16, 16, 16, 16, 16, 0, 1, 8, 8, 4, 3, 64, 0.1f, 0));
    assertTrue(e.getMessage().contains("multiple of heads_kv"), e.getMessage());
    if (!CudaSupport.probe().available()) {
      // Valid arguments (addresses are never dereferenced on the host): the launch itself fails.
      e = assertThrows(RuntimeException.class, () -> CudaOps.f32_to_bf16(256, 512, 4, 0));
      assertTrue(e.getMessage().contains("f32_to_bf16") && e.getMessage().contains("CUDA error"), e.getMessage());
    }
  }

  @Test
  void deviceCudaWithoutGpuSaysWhatIsMissing() {
    CudaSupport.Probe p = CudaSupport.probe();
    Assumptions.assumeFalse(p.available(), "a GPU is present: nothing to refuse");
    BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> Backends.select("cuda"));
    assertTrue(e.getMessage().contains("no CUDA device (" + p.detail() + ")"), e.getMessage());
    assertTrue(Backends.describe().contains("cuda: no CUDA device (" + p.detail() + ")"), Backends.describe().toString());
    try (var auto = Backends.select("auto")) {
      assertEquals(io.rewardkit.kernels.Device.CPU, auto.device(), "auto falls back to the CPU");
    }
  }

  @Test
  void bf16RoundingIsNearestEven() {
    assertEquals(1.0f, CudaBackend.fromBf16(CudaBackend.toBf16(1.0f)));
    // 1 + 2^-8 lies exactly between two bf16 values (1 and 1 + 2^-7): ties go to the even mantissa (1).
    assertEquals(1.0f, CudaBackend.fromBf16(CudaBackend.toBf16(1f + 0x1p-8f)));
    assertEquals(1f + 0x1p-6f, CudaBackend.fromBf16(CudaBackend.toBf16(1f + 0x1p-7f + 0x1p-8f)));
    assertTrue(Float.isNaN(CudaBackend.fromBf16(CudaBackend.toBf16(Float.NaN))));
  }

  /**
   * A fresh JVM that uses only the CPU backend and the probe must never load a Bytedeco CUDA class
   * (they poison the JVM without a driver); with the CPU backend alone, not even RewardKit's.
   */
  @Test
  void cpuPathNeverLoadsCudaClasses() throws Exception {
    String javaBin = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    List<String> cmd = new ArrayList<>(List.of(javaBin, "-verbose:class", "--enable-native-access=ALL-UNNAMED",
        "-cp", System.getProperty("java.class.path")));
    String cache = System.getProperty("org.bytedeco.javacpp.cachedir");
    if (cache != null) cmd.add("-Dorg.bytedeco.javacpp.cachedir=" + cache);
    cmd.add(CpuOnlyMain.class.getName());
    Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    try (InputStream in = proc.getInputStream()) { in.transferTo(buf); }
    assertTrue(proc.waitFor(120, TimeUnit.SECONDS), "child JVM timed out");
    String out = buf.toString(StandardCharsets.UTF_8);
    assertEquals(0, proc.exitValue(), out.length() > 4000 ? out.substring(out.length() - 4000) : out);
    assertTrue(out.contains("CPU-ONLY-OK"), "child did not finish");
    String beforeProbe = out.substring(0, out.indexOf("PROBING"));
    assertFalse(beforeProbe.replace(CpuOnlyMain.class.getName(), "").contains("io.rewardkit.kernels.cuda."),
        "CPU backend loaded RewardKit CUDA classes");
    assertFalse(out.contains("org.bytedeco.cuda."), "a Bytedeco CUDA class was loaded");
    assertTrue(out.contains("io.rewardkit.kernels.cpu.RmsNorm"), "the child did use the CPU kernels");
  }
}
