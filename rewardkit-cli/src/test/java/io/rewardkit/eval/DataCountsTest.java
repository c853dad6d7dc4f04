package io.rewardkit.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.cli.RewardKitCli;
import io.rewardkit.train.RunSetup;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** No silent drops: train and eval print one line per dataset and record the same counts (metrics.jsonl run_start, --output_json). */
class DataCountsTest {
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  @Test
  void trainAndEvalCountEveryDrop() throws Exception {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 20; i++) lines.add(JSON.writeValueAsString(Map.of("prompt", "q" + i, "chosen", "yes " + i, "rejected", "no")));
    lines.add(JSON.writeValueAsString(Map.of("prompt", "q", "chosen", "y".repeat(60), "rejected", "n")));  // too_long at 48
    lines.add(JSON.writeValueAsString(Map.of("prompt", "q", "chosen", "", "rejected", "n")));               // empty_response
    lines.add("{\"prompt\": \"q\"}");                                                                        // bad: no chosen
    Path data = tmp.resolve("pairs.jsonl");
    Files.write(data, lines, StandardCharsets.UTF_8);
    Path cfg = tmp.resolve("config.json");
    Files.writeString(cfg, RunSetup.DEFAULT_MODEL_CONFIG);
    Path out = tmp.resolve("run");
    String printed = capture(() -> assertEquals(0, RewardKitCli.run("train", "--init_config", cfg.toString(), "--tokenizer", "byte",
        "--dataset", data.toString(), "--on_bad_record", "skip", "--max_length", "48", "--max_tokens_per_batch", "256",
        "--max_steps", "1", "--report", "false", "--output_dir", out.toString())));
    assertTrue(printed.contains("pairs.jsonl: 23 records read, 20 kept, 3 dropped (empty_response 1, missing_field 1, too_long 1)")
        || printed.matches("(?s).*pairs\\.jsonl: 23 records read, 20 kept, 3 dropped \\(empty_response 1, [a-z_]+ 1, too_long 1\\).*"), printed);

    JsonNode start = JSON.readTree(Files.readAllLines(out.resolve("metrics.jsonl")).get(0));
    assertEquals("run_start", start.get("record").asText());
    JsonNode d = start.get("data").get("train").get(0);
    assertEquals(23, d.get("read").asInt());
    assertEquals(20, d.get("kept").asInt());
    assertEquals(3, d.get("dropped").asInt());
    assertEquals(1, d.get("dropped_by_reason").get("too_long").asInt());
    assertEquals(1, d.get("dropped_by_reason").get("empty_response").asInt());

    Path json = tmp.resolve("eval.json");
    String evalPrinted = capture(() -> assertEquals(0, RewardKitCli.run("eval", "--model", out.toString(), "--dataset", data.toString(),
        "--on_bad_record", "skip", "--output_json", json.toString())));
    assertTrue(evalPrinted.contains("23 records read, 20 kept, 3 dropped"), evalPrinted);
    JsonNode e = JSON.readTree(json.toFile()).get("data");
    assertEquals(20, e.get("datasets").get(0).get("kept").asInt());
    assertEquals(3, e.get("datasets").get(0).get("dropped").asInt());

    // HF output details: readable by others, transformers_version
    Path fin = out.resolve("final");
    assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(fin)));
    assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(fin.resolve("model.safetensors"))));
    assertTrue(JSON.readTree(fin.resolve("config.json").toFile()).hasNonNull("transformers_version"));
    assertTrue(JSON.readTree(fin.resolve("rewardkit.json").toFile()).get("tokenizer_files").asText().startsWith("none"));
  }

  @Test
  void saveDtypeKeepsABf16BaseBf16() throws Exception {
    Path data = tmp.resolve("p.jsonl");
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 8; i++) lines.add(JSON.writeValueAsString(Map.of("prompt", "q" + i, "chosen", "yes", "rejected", "no " + i)));
    Files.write(data, lines, StandardCharsets.UTF_8);
    Path cfg = tmp.resolve("config.json");
    Files.writeString(cfg, RunSetup.DEFAULT_MODEL_CONFIG);
    Path bf = tmp.resolve("bf");
    assertEquals(0, RewardKitCli.run("train", "--init_config", cfg.toString(), "--tokenizer", "byte", "--dataset", data.toString(),
        "--max_length", "32", "--max_tokens_per_batch", "256", "--max_steps", "1", "--report", "false", "--save_dtype", "bfloat16",
        "--output_dir", bf.toString()));
    assertEquals("BF16", dtypeOf(bf.resolve("final/model.safetensors")));
    assertEquals("bfloat16", JSON.readTree(bf.resolve("final/config.json").toFile()).get("torch_dtype").asText());
    // auto: a bf16 base comes back bf16; float32 on request
    for (String[] c : new String[][] {{"auto", "BF16"}, {"float32", "F32"}}) {
      Path out = tmp.resolve("from-bf-" + c[0]);
      assertEquals(0, RewardKitCli.run("train", "--model_name_or_path", bf.resolve("final").toString(), "--tokenizer", "byte",
          "--dataset", data.toString(), "--max_length", "32", "--max_tokens_per_batch", "256", "--max_steps", "1",
          "--report", "false", "--save_dtype", c[0], "--output_dir", out.toString()));
      assertEquals(c[1], dtypeOf(out.resolve("final/model.safetensors")), c[0]);
    }
    // refused like every other option value: a usage error (exit 2)
    assertEquals(2, RewardKitCli.run("train", "--save_dtype", "float16", "--output_dir", tmp.resolve("x").toString()));
  }

  /** The dtype of the first tensor in a safetensors file's header. */
  static String dtypeOf(Path st) throws Exception {
    byte[] b = Files.readAllBytes(st);
    long n = java.nio.ByteBuffer.wrap(b, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
    JsonNode h = JSON.readTree(new String(b, 8, (int) n, StandardCharsets.UTF_8));
    for (var it = h.fields(); it.hasNext(); ) {
      var e = it.next();
      if (!e.getKey().equals("__metadata__")) return e.getValue().get("dtype").asText();
    }
    return null;
  }

  static String capture(Runnable r) {
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
      r.run();
    } finally {
      System.setOut(old);
    }
    return buf.toString(StandardCharsets.UTF_8);
  }
}
