package io.rewardkit.cli;

import static io.rewardkit.cli.CliRun.run;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.rewardkit.cli.CliRun.Run;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.CpuBlas;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --bf16} end to end: the embedded default trains with bf16 matmuls (loss falls, run_start records the
 * precision), two runs on a fixed thread count write the same weights byte for byte, a CPU without AVX512-BF16
 * warns and trains in fp32, usage errors exit 2 naming the option, and a resume cannot switch the precision.
 */
class Bf16CliTest {
  @TempDir Path tmp;

  private static final Pattern LOSS = Pattern.compile("\"record\":\"train\",\"loss\":([-0-9.eE]+)");

  private String[] train(Path out, String bf16, int steps, String... more) {
    List<String> a = new ArrayList<>(List.of("train", "--output_dir", out.toString(), "--bf16", bf16, "--threads", "2",
        "--synthetic_train_pairs", "1000", "--synthetic_eval_pairs", "50", "--max_steps", String.valueOf(steps),
        "--logging_steps", "5", "--report", "false"));
    a.addAll(List.of(more));
    return a.toArray(String[]::new);
  }

  @Test
  void trainsWithBf16MatmulsAndRepeatsBitForBit() throws Exception {
    assumeTrue(CpuBlas.bf16Supported(), "this CPU has no AVX512-BF16");
    Run a = run(train(tmp.resolve("a"), "true", 40)), b = run(train(tmp.resolve("b"), "true", 40));
    assertEquals(0, a.code(), a.err());
    assertEquals(0, b.code(), b.err());
    assertTrue(a.out().contains("bf16 matmuls"), a.out());
    String metrics = Files.readString(tmp.resolve("a/metrics.jsonl"));
    assertTrue(metrics.contains("\"matmul_precision\":\"bf16\""), metrics);
    List<Double> losses = new ArrayList<>();
    Matcher m = LOSS.matcher(metrics);
    while (m.find()) losses.add(Double.parseDouble(m.group(1)));
    assertEquals(8, losses.size(), metrics);
    assertTrue(losses.get(7) < losses.get(0) - 0.01, "loss falls: " + losses);
    assertArrayEquals(Files.readAllBytes(tmp.resolve("a/final/model.safetensors")),
        Files.readAllBytes(tmp.resolve("b/final/model.safetensors")), "same weights at a fixed thread count");
  }

  @Test
  void withoutAvx512Bf16ItWarnsAndTrainsInFp32() throws Exception {
    CpuBlas.setBf16Disabled(true);
    try {
      Run r = run(train(tmp.resolve("off"), "true", 2));
      assertEquals(0, r.code(), r.err());
      assertEquals(1, r.err().lines().filter(l -> l.equals(CpuBackend.NO_BF16_WARNING)).count(), r.err());
      assertTrue(Files.readString(tmp.resolve("off/metrics.jsonl")).contains("\"matmul_precision\":\"fp32\""));
    } finally {
      CpuBlas.setBf16Disabled(false);
    }
  }

  @Test
  void usageErrorsExitTwoAndNameTheOption() throws Exception {
    Run cuda = run("train", "--device", "cuda", "--bf16", "false", "--output_dir", tmp.resolve("x").toString());
    assertEquals(2, cuda.code(), cuda.err());
    assertTrue(cuda.err().startsWith("error: --bf16 false is not available with --device cuda"), cuda.err());
    // given in a --config file: the same; not given: CUDA's default bf16 is no conflict (the GPU proof script's runs)
    Path yaml = tmp.resolve("cuda.yaml");
    Files.writeString(yaml, "device: cuda\nbf16: false\n");
    Run fromYaml = run("train", "--config", yaml.toString(), "--output_dir", tmp.resolve("y").toString());
    assertEquals(2, fromYaml.code(), fromYaml.err());
    assertTrue(fromYaml.err().contains("--bf16 false is not available with --device cuda"), fromYaml.err());
    Run plain = run("train", "--device", "cuda", "--dry_run", "--output_dir", tmp.resolve("z").toString());
    assertFalse(plain.err().contains("--bf16"), plain.err());
    Run bad = run("bench", "--bf16", "maybe");
    assertEquals(2, bad.code(), bad.err());
    assertTrue(bad.err().contains("--bf16"), bad.err());
  }

  @Test
  void resumeRefusesAnotherMatmulPrecision() throws Exception {
    Path out = tmp.resolve("r");
    Run first = run(train(out, "false", 4, "--save_steps", "2"));
    assertEquals(0, first.code(), first.err());
    Run other = run(train(out, "true", 6, "--resume"));
    assertNotEquals(0, other.code(), other.out());
    assertTrue(other.err().contains("options differ") && other.err().contains("bf16"), other.err());
  }
}
