package io.rewardkit.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.train.Checkpoints;
import io.rewardkit.train.MetricsLog;
import io.rewardkit.report.MetricsRecords;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Run integrity through the CLI: --resume with nothing but --output_dir continues an hh-rlhf run
 * bit-exactly with its own options; changed data is refused; non-finite weights, an out-of-memory
 * model and options that do not fit the model fail with one line before anything is written.
 */
class RunIntegrityCliTest {
  @TempDir Path tmp;

  record Run(int rc, String out, String err) {}

  static Run cli(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
    PrintStream oldOut = System.out, oldErr = System.err;
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int rc = RewardKitCli.run(args);
      return new Run(rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  /** The run with rewardkit.test.crashAfterStep set: an in-process crash after that step. */
  static Run crashingAfter(long step, String... args) {
    System.setProperty("rewardkit.test.crashAfterStep", Long.toString(step));
    try {
      return cli(args);
    } finally {
      System.clearProperty("rewardkit.test.crashAfterStep");
    }
  }

  static final String TINY = "{\"model_type\": \"llama\", \"hidden_size\": 16, \"intermediate_size\": 32, \"num_hidden_layers\": 1, "
      + "\"num_attention_heads\": 2, \"num_key_value_heads\": 2, \"vocab_size\": 264, \"max_position_embeddings\": %d}";

  private Path pairs(String name, String variant) throws Exception {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      lines.add("{\"prompt\": \"copy " + i + "\", \"chosen\": \"copy " + i + variant + "\", \"rejected\": \"cpy " + (i * 7 % 13) + "\"}");
    }
    return Files.write(tmp.resolve(name), lines, StandardCharsets.UTF_8);
  }

  private Path tinyConfig(int maxPositions) throws Exception {
    return Files.writeString(tmp.resolve("tiny-" + maxPositions + ".json"), String.format(TINY, maxPositions));
  }

  private String[] tinyRun(Path data, Path out, String... extra) throws Exception {
    List<String> a = new ArrayList<>(List.of("train", "--init_config", tinyConfig(64).toString(), "--tokenizer", "byte",
        "--dataset", data.toString(), "--max_length", "48", "--max_tokens_per_batch", "256", "--learning_rate", "1e-2",
        "--save_steps", "2", "--report", "false", "--output_dir", out.toString()));
    a.addAll(List.of(extra));
    return a.toArray(String[]::new);
  }

  @Test void hhRunResumedWithOnlyResumeAndOutputDirIsBitExact() throws Exception {
    Path shared = Path.of(System.getProperty("rewardkit.shared", "../shared"));
    Path data = shared.resolve("data/hh-rlhf-harmless/pairs-2000.jsonl");
    Path tok = shared.resolve("fixtures/tokenizers/qwen3");
    assumeTrue(Files.isRegularFile(data) && Files.isRegularFile(tok.resolve("tokenizer.json")),
        "shared data not found at " + shared + " (set -Drewardkit.shared)");
    Path subset = tmp.resolve("hh-80.jsonl");
    Files.write(subset, Files.readAllLines(data, StandardCharsets.UTF_8).subList(0, 80), StandardCharsets.UTF_8);
    Path cfg = tmp.resolve("config.json");
    Files.writeString(cfg, "{\"model_type\": \"qwen2\", \"hidden_size\": 32, \"intermediate_size\": 64, "
        + "\"num_hidden_layers\": 1, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"vocab_size\": 151669, "
        + "\"max_position_embeddings\": 1024, \"rms_norm_eps\": 1e-6, \"rope_theta\": 1000000.0}");
    Path a = tmp.resolve("a"), b = tmp.resolve("b");
    List<String> args = List.of("train", "--init_config", cfg.toString(), "--tokenizer", tok.toString(),
        "--dataset", subset.toString(), "--eval_split", "0.2", "--on_bad_record", "skip", "--layout", "shared_prefix",
        "--max_length", "256", "--max_tokens_per_batch", "2048", "--learning_rate", "1e-3", "--lr_scheduler_type", "cosine",
        "--max_steps", "6", "--logging_steps", "1", "--eval_steps", "3", "--save_steps", "2", "--save_total_limit", "1",
        "--report", "false");
    List<String> argsA = new ArrayList<>(args);
    argsA.addAll(List.of("--output_dir", a.toString()));
    Run ra = cli(argsA.toArray(String[]::new));
    assertEquals(0, ra.rc(), ra.err());
    List<String> argsB = new ArrayList<>(args);
    argsB.addAll(List.of("--output_dir", b.toString()));
    Run crashed = crashingAfter(3, argsB.toArray(String[]::new));
    assertEquals(1, crashed.rc());
    assertEquals(List.of(2L), Checkpoints.list(b).stream().map(Checkpoints::stepOf).toList());

    Run rb = cli("train", "--resume", "--output_dir", b.toString());
    assertEquals(0, rb.rc(), rb.err());
    assertTrue(rb.out().contains("resumed from") && !rb.out().contains("no model or dataset given"), rb.out());
    // the same records apart from the wall clock and the resumed invocation's run_start
    assertEquals(MetricsRecords.withoutWallClock(MetricsLog.read(a.resolve("metrics.jsonl"))),
        MetricsRecords.withoutWallClock(MetricsLog.read(b.resolve("metrics.jsonl"))));
    assertArrayEquals(Files.readAllBytes(a.resolve("final/model.safetensors")), Files.readAllBytes(b.resolve("final/model.safetensors")));
    // the run's own rotation (--save_total_limit 1) and --report false still hold after the resume
    assertEquals(List.of(6L), Checkpoints.list(b).stream().map(Checkpoints::stepOf).toList());
    assertFalse(Files.exists(b.resolve("report")));
  }

  @Test void resumeRefusesChangedDataAndChangedOptions() throws Exception {
    Path data = pairs("d.jsonl", ""), out = tmp.resolve("run");
    Run first = crashingAfter(3, tinyRun(data, out, "--eval_split", "0.25", "--max_steps", "6"));
    assertEquals(1, first.rc(), first.err());
    byte[] metrics = Files.readAllBytes(out.resolve("metrics.jsonl"));

    Run split = cli("train", "--resume", "--output_dir", out.toString(), "--eval_split", "0.5", "--layout", "shared_prefix");
    assertEquals(1, split.rc());
    assertTrue(split.err().contains("--eval_split 0.25 -> 0.5") && split.err().contains("--layout \"separate\" -> \"shared_prefix\""), split.err());

    pairs("d.jsonl", " again");  // same path, other content
    Run changed = cli("train", "--resume", "--output_dir", out.toString());
    assertEquals(1, changed.rc());
    assertTrue(changed.err().contains("the training data differs from the run's"), changed.err());
    assertEquals(2, changed.err().lines().count(), changed.err());
    assertArrayEquals(metrics, Files.readAllBytes(out.resolve("metrics.jsonl")), "refused resumes write nothing");

    pairs("d.jsonl", "");  // back to the run's data: the resume goes through, with an allowed change logged
    Run ok = cli("train", "--resume", "--output_dir", out.toString(), "--max_steps", "7");
    assertEquals(0, ok.rc(), ok.err());
    assertTrue(ok.out().contains("resume: --max_steps 6 -> 7 (applied)"), ok.out());

    Run typo = cli("train", "--resume", "--output_dir", tmp.resolve("rnu").toString());
    assertEquals(1, typo.rc());
    assertTrue(typo.err().contains("does not exist"), typo.err());
    assertFalse(Files.exists(tmp.resolve("rnu")));
  }

  @Test void nonFiniteWeightsAreRejectedNamingFileAndTensor() throws Exception {
    Path data = pairs("d.jsonl", ""), out = tmp.resolve("run");
    assertEquals(0, cli(tinyRun(data, out, "--max_steps", "2")).rc());
    Path model = tmp.resolve("model");
    Files.createDirectories(model);
    try (Stream<Path> s = Files.list(out.resolve("final"))) {
      for (Path f : s.toList()) Files.copy(f, model.resolve(f.getFileName()));
    }
    String tensor = poisonFirstElement(model.resolve("model.safetensors"), "model.norm.weight");
    // with its checksums the damage is found first
    Run damaged = cli("eval", "--model", model.toString(), "--dataset", data.toString());
    assertEquals(1, damaged.rc());
    assertTrue(damaged.err().contains("model.safetensors content differs from its recorded SHA-256"), damaged.err());
    Files.delete(model.resolve(Checkpoints.CHECKSUMS));  // e.g. an HF export without RewardKit's checksums
    String expect = "model.safetensors: tensor '" + tensor + "' has a non-finite value (NaN) at element 0";
    Run eval = cli("eval", "--model", model.toString(), "--dataset", data.toString());
    assertEquals(1, eval.rc());
    assertTrue(eval.err().contains(expect), eval.err());
    Path in = Files.writeString(tmp.resolve("score.jsonl"), "{\"prompt\": \"a\", \"response\": \"b\"}\n");
    Run score = cli("score", "--model", model.toString(), "--input", in.toString());
    assertEquals(1, score.rc());
    assertTrue(score.err().contains(expect), score.err());
    Path out2 = tmp.resolve("run2");
    Run train = cli("train", "--model_name_or_path", model.toString(), "--tokenizer", "byte", "--dataset", data.toString(),
        "--max_length", "48", "--max_tokens_per_batch", "256", "--output_dir", out2.toString());
    assertEquals(1, train.rc());
    assertTrue(train.err().contains(expect), train.err());
    assertFalse(Files.exists(out2), "nothing written");
  }

  /** Sets the first element of a tensor to NaN in place; returns the tensor's name. */
  private static String poisonFirstElement(Path file, String name) throws Exception {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      byte[] len = new byte[8];
      f.readFully(len);
      long hlen = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
      byte[] h = new byte[(int) hlen];
      f.readFully(h);
      JsonNode t = new ObjectMapper().readTree(h).get(name);
      long at = 8 + hlen + t.get("data_offsets").get(0).asLong();
      f.seek(at);
      switch (t.get("dtype").asText()) {
        case "F32" -> f.write(new byte[] {0, 0, (byte) 0xc0, 0x7f});
        case "BF16" -> f.write(new byte[] {(byte) 0xc0, 0x7f});
        default -> throw new AssertionError("dtype " + t.get("dtype"));
      }
    }
    return name;
  }

  @Test void outOfMemoryIsOneLineWithTheEstimate() throws Exception {
    Path data = pairs("d.jsonl", ""), out = tmp.resolve("big");
    Path big = Files.writeString(tmp.resolve("big.json"), "{\"model_type\": \"llama\", \"hidden_size\": 16384, "
        + "\"intermediate_size\": 65536, \"num_hidden_layers\": 200, \"num_attention_heads\": 128, \"num_key_value_heads\": 128, "
        + "\"vocab_size\": 264, \"max_position_embeddings\": 64}");
    // the memory plan would refuse this run before loading (MemoryPlanCliTest); told of a huge machine, it
    // lets the run start, and the allocation that fails is still reported in one line
    System.setProperty(io.rewardkit.model.AvailableMemory.OVERRIDE_PROPERTY, Long.toString(Long.MAX_VALUE));
    Run r;
    try {
      r = cli("train", "--init_config", big.toString(), "--tokenizer", "byte", "--dataset", data.toString(),
          "--max_length", "48", "--max_tokens_per_batch", "256", "--output_dir", out.toString());
    } finally {
      System.clearProperty(io.rewardkit.model.AvailableMemory.OVERRIDE_PROPERTY);
    }
    assertEquals(1, r.rc());
    List<String> lines = r.err().lines().toList();
    assertEquals(2, lines.size(), r.err());  // the error and the --stacktrace hint
    assertTrue(lines.get(0).startsWith("error: out of memory") && lines.get(0).contains("GiB")
        && lines.get(0).contains("--max_tokens_per_batch 256") && !lines.get(0).contains("OutOfMemoryError"), lines.get(0));
    assertFalse(Files.exists(out), "nothing written");
  }

  @Test void mismatchesAreFoundBeforeTheFirstStepNamingOptionOrFile() throws Exception {
    Path data = pairs("d.jsonl", "");
    Path small = tinyConfig(16), out = tmp.resolve("run");
    Run pos = cli("train", "--init_config", small.toString(), "--tokenizer", "byte", "--dataset", data.toString(),
        "--max_length", "48", "--max_tokens_per_batch", "256", "--output_dir", out.toString());
    assertEquals(1, pos.rc());
    assertTrue(pos.err().contains("--max_length 48 is above max_position_embeddings 16 of " + small), pos.err());
    Run lr = cli("train", "--init_config", tinyConfig(64).toString(), "--tokenizer", "byte", "--dataset", data.toString(),
        "--max_length", "48", "--max_tokens_per_batch", "256", "--learning_rate", "Infinity", "--output_dir", out.toString());
    assertEquals(2, lr.rc(), "an option value that fails validation is a usage error");
    assertTrue(lr.err().contains("--learning_rate: expected a finite number, got 'Infinity'"), lr.err());
    // a saved model whose embedding is smaller than the tokenizer's vocabulary
    Path trained = tmp.resolve("trained");
    assertEquals(0, cli(tinyRun(data, trained, "--max_steps", "1")).rc());
    Path cfg = trained.resolve("final/config.json");
    ObjectNode c = (ObjectNode) new ObjectMapper().readTree(cfg.toFile());
    c.put("vocab_size", 100);
    new ObjectMapper().writeValue(cfg.toFile(), c);
    Run vocab = cli("train", "--model_name_or_path", trained.resolve("final").toString(), "--tokenizer", "byte",
        "--dataset", data.toString(), "--max_length", "48", "--max_tokens_per_batch", "256", "--output_dir", out.toString());
    assertEquals(1, vocab.rc());
    assertTrue(vocab.err().contains(cfg + ": vocab_size 100 is smaller than the tokenizer's 264 ids (--tokenizer byte)"), vocab.err());
    assertFalse(Files.exists(out), "nothing written");
  }
}
