package io.rewardkit.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.rewardkit.kernels.CudaSupport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dry run of scripts/gpu/proof.sh (the one call that proves RewardKit on a GPU machine), on this
 * machine's build: every stage's plumbing runs (launcher, `info` and library discovery, the clean
 * `--device cuda` refusals, the peer export, the harness compiles), so the script cannot rot between
 * GPU sessions. The kernel emulator run is left to tools/kernel_emu (GPU_PROOF_EMU=0 here: minutes).
 */
class GpuProofScriptTest {
  @TempDir Path tmp;

  @Test
  void dryRunExercisesEveryStage() throws Exception {
    assumeTrue(!CudaSupport.probe().available(), "a GPU is present: run `scripts/gpu/proof.sh run` instead");
    assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "no bash");
    Path out = tmp.resolve("out"), log = tmp.resolve("proof.log");
    ProcessBuilder pb = new ProcessBuilder("bash", "scripts/gpu/proof.sh", "dryrun").redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().put("GPU_PROOF_PAYLOAD", "dev");
    pb.environment().put("GPU_PROOF_CP", System.getProperty("java.class.path"));
    pb.environment().put("GPU_PROOF_JAVA", Path.of(System.getProperty("java.home"), "bin", "java").toString());
    pb.environment().put("GPU_PROOF_EMU", "0");
    pb.environment().put("GPU_PROOF_SHARED", System.getProperty("rewardkit.shared", "../shared"));
    pb.environment().put("OUT", out.toString());
    Process p = pb.start();
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), "dry run did not finish");
    String text = Files.readString(log);
    assertEquals(0, p.exitValue(), text);
    String summary = Files.readString(out.resolve("summary.md"));
    for (String stage : List.of("env", "info", "flashcheck", "sanitize", "junit", "train", "bench")) {
      assertTrue(summary.contains("| " + stage + " | 0 |"), stage + " did not pass:\n" + summary);
    }
    // The stages reached what they check: library report, the refusals, the peer export.
    assertTrue(summary.contains("library  libcublas.so.13"), summary);
    assertTrue(summary.contains("KEY default --device cuda rc=1"), summary);
    assertTrue(summary.contains("KEY peer export: config.json"), summary);
    assertTrue(Files.isRegularFile(out.resolve("logs.tar.gz")));
  }
}
