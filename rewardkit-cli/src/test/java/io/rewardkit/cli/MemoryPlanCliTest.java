package io.rewardkit.cli;

import static io.rewardkit.cli.CliRun.run;
import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.cli.CliRun.Run;
import io.rewardkit.model.AvailableMemory;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** train --dry_run, the plan line of every run, and a run that cannot fit refused before loading. */
class MemoryPlanCliTest {
  @TempDir Path tmp;

  private static final String QWEN3_8B = "examples/shapes/qwen3-8b-config.json";

  private Path data() throws Exception {
    Path p = tmp.resolve("pairs.jsonl");
    Files.writeString(p, "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n");
    return p;
  }

  private static Run withAvailable(long bytes, String... args) {
    System.setProperty(AvailableMemory.OVERRIDE_PROPERTY, Long.toString(bytes));
    try {
      return run(args);
    } finally {
      System.clearProperty(AvailableMemory.OVERRIDE_PROPERTY);
    }
  }

  @Test
  void dryRunPrintsTheTableOfEveryModeAndWritesNothing() throws Exception {
    Path out = tmp.resolve("run");
    Run r = withAvailable(200L << 30, "train", "--init_config", QWEN3_8B, "--tokenizer", "byte", "--dataset", data().toString(),
        "--output_dir", out.toString(), "--dry_run");
    assertEquals(0, r.code(), r.err());
    String o = r.out();
    assertTrue(o.startsWith("memory plan: qwen3, 36 layers, 7,568,409,600 parameters; cpu (fp32), --max_tokens_per_batch 8192"), o);
    for (String row : new String[] {"trainable params", "weights", "gradients", "optimizer state", "master weights", "activations",
        "workspace", "total", "fits 200.00 GiB"}) {
      assertTrue(o.contains("\n" + row + " "), row + " in\n" + o);
    }
    for (String col : new String[] {"full", "full + ckpt", "LoRA r16", "LoRA r16 + ckpt", "QLoRA r16", "QLoRA r16 + ckpt"}) {
      assertTrue(o.contains(col), col);
    }
    assertTrue(o.contains("43,651,072"), "LoRA r16 trainable parameters as PEFT counts them:\n" + o);
    assertTrue(o.contains("this run (full) needs ") && o.contains(": fits"), o);
    assertFalse(Files.exists(out), "a dry run writes nothing");
  }

  @Test
  void aRunThatCannotFitStopsBeforeLoadingWithWhatWouldFit() throws Exception {
    Path out = tmp.resolve("run");
    // 40 GiB: full fine-tuning of an 8B model on CPU (fp32) needs ~130 GiB, QLoRA ~35 GiB at 8192 tokens
    Run r = withAvailable(40L << 30, "train", "--init_config", QWEN3_8B, "--tokenizer", "byte", "--dataset", data().toString(),
        "--output_dir", out.toString());
    assertEquals(1, r.code(), r.out() + r.err());
    String first = r.err().lines().findFirst().orElseThrow();
    assertTrue(first.startsWith("error: this run (full) needs ") && first.contains("but 40.00 GiB is available"), first);
    assertTrue(first.contains("would fit with: ") && first.contains("--use_peft --load_in_4bit --lora_r 16 --gradient_checkpointing (QLoRA, "), first);
    assertTrue(r.err().contains("\ntotal "), "the table follows:\n" + r.err());
    assertTrue(r.out().startsWith("memory plan (cpu, full, 8192 tokens/batch): weights 28.19 GiB"), r.out());
    assertTrue(r.out().contains("DOES NOT FIT"), r.out());
    assertFalse(Files.exists(out), "nothing loaded or written");
    CliUsageTest.assertClean(r.err());

    Run dry = withAvailable(40L << 30, "train", "--init_config", QWEN3_8B, "--tokenizer", "byte", "--dataset", data().toString(),
        "--output_dir", out.toString(), "--dry_run");
    assertEquals(1, dry.code(), "a dry run that does not fit exits 1");
  }

  @Test
  void checkpointingIsSuggestedWhenItIsWhatMakesTheRunFit() throws Exception {
    // Between the checkpointed and the plain plan of the 0.5B shape on CPU at 8192 tokens (9.6 / 18.5 GiB).
    Run r = withAvailable(12L << 30, "train", "--init_config", "examples/shapes/qwen2.5-0.5b-config.json", "--tokenizer", "byte",
        "--dataset", data().toString(), "--output_dir", tmp.resolve("run").toString(), "--dry_run");
    assertEquals(1, r.code());
    assertTrue(r.out().contains("would fit with: --gradient_checkpointing ("), r.out());
    assertTrue(r.out().contains("--max_tokens_per_batch 2048 ("), r.out());
    assertFalse(r.out().contains("--max_tokens_per_batch 4096 --gradient_checkpointing"), "checkpointing alone fits:\n" + r.out());
  }
}
