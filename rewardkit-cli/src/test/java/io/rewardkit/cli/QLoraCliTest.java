package io.rewardkit.cli;

import static io.rewardkit.cli.CliRun.run;
import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.cli.CliRun.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `train --use_peft --load_in_4bit` (QLoRA) and `--merge_lora` end to end through the CLI. */
class QLoraCliTest {
  private static Path res;
  @TempDir Path tmp;

  @BeforeAll
  static void resources() throws Exception {
    res = Path.of(QLoraCliTest.class.getResource("/parity/qwen2/pairs.jsonl").toURI()).getParent().getParent().getParent();
  }

  private String[] train(Path out, String... extra) {
    String[] base = {"train", "--model_name_or_path", res.resolve("parity/qwen2/base").toString(), "--dataset",
        res.resolve("parity/qwen2/pairs.jsonl").toString(), "--eval_dataset", res.resolve("parity/qwen2/pairs.jsonl").toString(),
        "--lora_r", "4", "--max_steps", "2", "--learning_rate", "0.05", "--max_length", "128", "--max_tokens_per_batch", "512",
        "--report", "false", "--output_dir", out.toString()};
    return CliUsageTest.concat(base, extra);
  }

  @Test
  void qloraRunPrintsItsPlanEvaluatesAndMergesLikeExport() throws Exception {
    Path out = tmp.resolve("run");
    Run t = run(train(out, "--use_peft", "--load_in_4bit", "--gradient_checkpointing", "--merge_lora"));
    assertEquals(0, t.code(), t.err());
    assertTrue(t.out().startsWith("memory plan (cpu, QLoRA r4 + ckpt, 512 tokens/batch)"), t.out());
    assertTrue(t.out().contains("its decoder linears are NF4"), t.out());
    assertTrue(t.out().contains("eval accuracy "), "the run evaluates:\n" + t.out());
    assertTrue(t.out().contains("final-merged/     the adapter merged onto"), t.out());
    assertTrue(Files.readString(out.resolve("final/rewardkit.json")).contains("\"qlora\""), "the manifest says the base was 4-bit");
    Path merged = out.resolve("final-merged");
    assertTrue(Files.isRegularFile(merged.resolve("model.safetensors")));

    // export --merge from the run's adapter writes the same bytes, file for file
    Path exported = tmp.resolve("exported");
    Run e = run("export", "--model", out.resolve("final").toString(), "--merge", "--output_dir", exported.toString());
    assertEquals(0, e.code(), e.err());
    List<String> names;
    try (Stream<Path> s = Files.list(merged)) {
      names = s.map(p -> p.getFileName().toString()).sorted().toList();
    }
    try (Stream<Path> s = Files.list(exported)) {
      assertEquals(names, s.map(p -> p.getFileName().toString()).sorted().toList());
    }
    assertTrue(names.contains("config.json") && names.contains("rewardkit.json"), names.toString());
    for (String f : names) assertArrayEquals(Files.readAllBytes(exported.resolve(f)), Files.readAllBytes(merged.resolve(f)), f);

    // the dry run's first column is the QLoRA run as configured
    Run d = run(train(tmp.resolve("dry"), "--use_peft", "--load_in_4bit", "--dry_run"));
    assertEquals(0, d.code(), d.err());
    assertTrue(d.out().contains("this run (QLoRA r4) needs "), d.out());
  }

  @Test
  void usageErrorsNameTheOptions() {
    Run r = run(train(tmp.resolve("a"), "--load_in_4bit"));
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("--load_in_4bit") && r.err().contains("--use_peft"), r.err());
    CliUsageTest.assertClean(r.err());
    r = run(train(tmp.resolve("b"), "--use_peft", "--load_in_4bit", "--bnb_4bit_quant_type", "fp4"));
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("--bnb_4bit_quant_type") && r.err().contains("only nf4"), r.err());
    r = run(train(tmp.resolve("c"), "--use_peft", "--load_in_4bit", "--bnb_4bit_use_double_quant", "false"));
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("--bnb_4bit_use_double_quant"), r.err());
    r = run(train(tmp.resolve("d"), "--merge_lora"));
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("--merge_lora") && r.err().contains("--use_peft"), r.err());
    r = run(train(tmp.resolve("e"), "--use_peft", "--load_in_4bit", "--task", "dpo"));
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("--load_in_4bit") && r.err().contains("--task"), r.err());
    r = run(train(tmp.resolve("f"), "--use_peft", "--merge_lora", "--task", "dpo"));
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("--merge_lora") && r.err().contains("--task"), r.err());
    for (String d : List.of("a", "b", "c", "d", "e", "f")) assertFalse(Files.exists(tmp.resolve(d)), "nothing written for " + d);
  }
}
