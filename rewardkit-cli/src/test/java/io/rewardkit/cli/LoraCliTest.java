package io.rewardkit.cli;

import static io.rewardkit.cli.CliRun.run;
import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.cli.CliRun.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `train --use_peft`, `export --merge` and adapter directories as --model, end to end through the CLI. */
class LoraCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static Path res;
  @TempDir Path tmp;

  @BeforeAll
  static void resources() throws Exception {
    res = Path.of(LoraCliTest.class.getResource("/parity/qwen2/pairs.jsonl").toURI()).getParent().getParent().getParent();
  }

  private String[] train(Path out, String... extra) {
    String[] base = {"train", "--model_name_or_path", res.resolve("parity/qwen2/base").toString(), "--dataset",
        res.resolve("parity/qwen2/pairs.jsonl").toString(), "--use_peft", "--lora_r", "4", "--max_steps", "2",
        "--learning_rate", "0.05", "--max_length", "128", "--max_tokens_per_batch", "512", "--report", "false",
        "--output_dir", out.toString()};
    return CliUsageTest.concat(base, extra);
  }

  @Test
  void trainWritesAnAdapterThatScoresAndExportsMerged() throws Exception {
    Path out = tmp.resolve("run");
    Run t = run(train(out));
    assertEquals(0, t.code(), t.err());
    assertTrue(t.out().contains("lora: r 4, alpha 32, scaling 8"), t.out());
    assertTrue(t.out().contains("final/            PEFT LoRA adapter"), t.out());
    Path input = tmp.resolve("in.jsonl");
    Files.copy(res.resolve("parity/qwen2/input.jsonl"), input);
    Run s = run("score", "--model", out.toString(), "--input", input.toString());
    assertEquals(0, s.code(), s.err());

    Path merged = tmp.resolve("merged");
    Run e = run("export", "--model", out.resolve("final").toString(), "--merge", "--output_dir", merged.toString());
    assertEquals(0, e.code(), e.err());
    assertTrue(Files.isRegularFile(merged.resolve("model.safetensors")) && Files.isRegularFile(merged.resolve("checksums.json")));
    JsonNode man = JSON.readTree(merged.resolve("rewardkit.json").toFile());
    assertEquals(out.resolve("final").toAbsolutePath().normalize().toString(), man.path("merged_from").path("adapter").asText());
    Run sm = run("score", "--model", merged.toString(), "--input", input.toString());
    assertEquals(0, sm.code(), sm.err());
    String[] a = s.out().split("\n"), b = sm.out().split("\n");
    assertEquals(a.length, b.length);
    for (int i = 0; i < a.length; i++) {
      JsonNode ra = JSON.readTree(a[i]).get("rewards"), rb = JSON.readTree(b[i]).get("rewards");
      for (int k = 0; k < ra.size(); k++) assertEquals(ra.get(k).asDouble(), rb.get(k).asDouble(), 1e-5, "line " + i);
    }
    // the merged checkpoint is an ordinary model: exporting it again is a usage error
    Run again = run("export", "--model", merged.toString(), "--merge", "--output_dir", tmp.resolve("m2").toString());
    assertEquals(2, again.code());
    assertTrue(again.err().contains("is not a LoRA adapter"), again.err());
  }

  @Test
  void usageErrorsNameTheOption() {
    Run r = run("train", "--dataset", res.resolve("parity/qwen2/pairs.jsonl").toString(), "--tokenizer",
        res.resolve("parity/qwen2/base").toString(), "--init_config", res.resolve("parity/qwen2/base/config.json").toString(),
        "--use_peft", "--output_dir", tmp.resolve("x").toString());
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("--use_peft trains adapters for a base model on disk"), r.err());
    r = run(train(tmp.resolve("y"), "--lora_dropout", "0.1"));
    assertEquals(2, r.code());
    assertTrue(r.err().contains("--lora_dropout") && r.err().contains("only 0"), r.err());
    r = run(train(tmp.resolve("z"), "--lora_target_modules", "q_proj,lm_head"));
    assertEquals(2, r.code());
    assertTrue(r.err().contains("--lora_target_modules"), r.err());
    r = run("export", "--model", res.resolve("parity/qwen2/base").toString(), "--output_dir", tmp.resolve("w").toString());
    assertEquals(2, r.code());
    assertTrue(r.err().contains("give --merge"), r.err());
    CliUsageTest.assertClean(r.err());
  }

  /** score on an adapter saved without its head: exit 1, one line naming the file; nothing scored with a random head. */
  @Test
  void headlessAdapterIsRefused() throws Exception {
    Path out = tmp.resolve("run");
    assertEquals(0, run(train(out)).code());
    Path dir = tmp.resolve("headless");
    Files.createDirectories(dir);
    Files.copy(out.resolve("final/adapter_model.safetensors"), dir.resolve("adapter_model.safetensors"));
    Files.copy(out.resolve("final/adapter_config.json"), dir.resolve("adapter_config.json"));
    // drop the head: a copy of the file without base_model.model.score.weight
    io.rewardkit.model.safetensors.SafetensorsFile f = io.rewardkit.model.safetensors.SafetensorsFile.open(dir.resolve("adapter_model.safetensors"));
    java.util.List<io.rewardkit.model.safetensors.SafetensorsWriter.TensorSpec> kept = new java.util.ArrayList<>();
    for (var e : f.entries().values()) {
      if (e.name().equals("base_model.model.score.weight")) continue;
      float[] v = f.readFloats(e.name());
      kept.add(new io.rewardkit.model.safetensors.SafetensorsWriter.TensorSpec(e.name(), io.rewardkit.model.safetensors.StDType.F32,
          e.shape(), (off, dst, n) -> System.arraycopy(v, (int) off, dst, 0, n)));
    }
    f.close();
    io.rewardkit.model.safetensors.SafetensorsWriter.write(dir.resolve("adapter_model.safetensors"), kept, java.util.Map.of());
    Path input = tmp.resolve("in.jsonl");
    Files.copy(res.resolve("parity/qwen2/input.jsonl"), input);
    Run s = run("score", "--model", dir.toString(), "--input", input.toString());
    assertEquals(1, s.code());
    assertEquals("", s.out());
    assertTrue(s.err().startsWith("error: " + dir.resolve("adapter_model.safetensors") + ": no score head"), s.err());
    CliUsageTest.assertClean(s.err());
  }
}
