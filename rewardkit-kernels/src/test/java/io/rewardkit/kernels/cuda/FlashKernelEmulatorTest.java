package io.rewardkit.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CUDA flash-attention kernels (native/cuda/flash_*.cu, the sources the GPU build compiles) run on the
 * host emulator (tools/kernel_emu) against the CPU reference, on three small cases of flash_test.cpp:
 * hd 64 MHA with segments and atomic dQ (2), hd 8 GQA with segments and the deterministic dQ pass (4), hd 16
 * MQA plain causal (5). Together they take the diagonal, ragged, mixed-segment and fully visible tile paths,
 * the cp.async loads, the ldmatrix fragments and the GQA dK/dV reduce, so a change of the mask predicate (or a
 * fragment load) in the CUDA path fails here, on CPU-only CI. The full case list (every head-dim bucket) is
 * `tools/kernel_emu/run.sh flash`. Needs the CUDA headers (cuda_bf16.h) next to nvcc, and g++.
 */
class FlashKernelEmulatorTest {
  @TempDir Path tmp;

  @Test
  void flashKernelsMatchTheCpuReferenceOnTheHostEmulator() throws Exception {
    Path root = repoRoot();
    assumeTrue(root != null, "tools/kernel_emu/run.sh not found above " + System.getProperty("user.dir"));
    Path cudaHome = cudaHome();
    assumeTrue(cudaHome != null, "nvcc / the CUDA toolkit not found (CUDA_HOME, PATH, /usr/local/cuda): "
        + "the CUDA kernel emulator check needs its headers");
    assumeTrue(onPath("g++") != null, "g++ not found: the kernel emulator is built with g++");

    Path log = tmp.resolve("emu.log");
    ProcessBuilder pb = new ProcessBuilder("sh", root.resolve("tools/kernel_emu/run.sh").toString(), "flash", "2", "4", "5")
        .redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("TMPDIR", tmp.toString());
    pb.environment().put("CUDA_HOME", cudaHome.toString());
    long t0 = System.nanoTime();
    Process p = pb.start();
    boolean done = p.waitFor(15, TimeUnit.MINUTES);
    if (!done) p.destroyForcibly();
    String text = Files.readString(log);
    assertTrue(done, "kernel emulator did not finish in 15 minutes:\n" + text);
    System.out.printf("kernel emulator (3 flash cases, build + run): %.0f s%n", (System.nanoTime() - t0) / 1e9);
    assertEquals(0, p.exitValue(), text);
    assertTrue(text.contains("all checks passed"), text);
    assertEquals(3, Pattern.compile("(?m)^hd=").matcher(text).results().count(), "expected 3 cases:\n" + text);
  }

  private static Path repoRoot() {
    for (Path d = Path.of(System.getProperty("user.dir")).toAbsolutePath(); d != null; d = d.getParent())
      if (Files.isRegularFile(d.resolve("tools/kernel_emu/run.sh"))) return d;
    return null;
  }

  /** A CUDA toolkit with nvcc and cuda_bf16.h: CUDA_HOME, CUDA_PATH, nvcc's on PATH, /usr/local/cuda. */
  private static Path cudaHome() throws Exception {
    List<Path> candidates = new ArrayList<>();
    for (String env : new String[] {"CUDA_HOME", "CUDA_PATH"})
      if (System.getenv(env) != null) candidates.add(Path.of(System.getenv(env)));
    Path nvcc = onPath("nvcc");
    if (nvcc != null && nvcc.toRealPath().getParent().getParent() != null) candidates.add(nvcc.toRealPath().getParent().getParent());
    candidates.add(Path.of("/usr/local/cuda"));
    for (Path c : candidates)
      if (Files.isExecutable(c.resolve("bin/nvcc")) && Files.isRegularFile(c.resolve("include/cuda_bf16.h"))) return c;
    return null;
  }

  private static Path onPath(String exe) {
    String path = System.getenv("PATH");
    if (path == null) return null;
    for (String dir : path.split(File.pathSeparator)) {
      Path c = Path.of(dir.isEmpty() ? "." : dir, exe);
      if (Files.isExecutable(c)) return c;
    }
    return null;
  }
}
