package io.rewardkit.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.cli.RewardKitCli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchCommandTest {

  @Test
  void exportPeerWritesTheRunsPairsAndConfig(@TempDir Path dir) throws Exception {
    int code = RewardKitCli.run("bench", "--shape", "Qwen2.5-0.5B:2L", "--lengths", "ultrafeedback", "--pairs_per_step", "4",
        "--max_length", "2048", "--max_tokens_per_batch", "16384", "--layout", "shared_prefix",
        "--warmup", "1", "--steps", "2", "--seed", "9", "--export-peer", dir.toString());
    assertEquals(0, code);
    ObjectMapper json = new ObjectMapper();
    JsonNode cfg = json.readTree(dir.resolve("config.json").toFile());
    assertEquals(2, cfg.get("num_hidden_layers").asInt());
    assertEquals(896, cfg.get("hidden_size").asInt());
    JsonNode run = json.readTree(dir.resolve("run.json").toFile());
    assertEquals(4, run.get("pairs_per_step").asInt());
    assertEquals(12, run.get("num_pairs").asInt());
    List<String> lines = Files.readAllLines(dir.resolve("pairs.jsonl"));
    assertEquals(12, lines.size());
    // Same pairs as the engine would train on.
    BenchConfig c = new BenchConfig(ModelShape.byName("Qwen2.5-0.5B:2L"), "auto", LengthProfile.ULTRAFEEDBACK, null, null, 4, 16384, 2048,
        true, 1, 2, 9, 0, 2048);
    PairTokens first = BenchEngine.pairs(c).get(0);
    JsonNode line0 = json.readTree(lines.get(0));
    assertEquals(first.chosen().length, line0.get("chosen_ids").size());
    assertEquals(first.prompt()[0], line0.get("prompt_ids").get(0).asInt());
  }

  @Test
  void badOptionsAreUserErrors() {
    PrintStream old = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      assertEquals(2, RewardKitCli.run("bench", "--shape", "gpt-9", "--export-peer", "/nonexistent/x"));
      assertEquals(2, RewardKitCli.run("bench", "--token-budget", "100", "--max-length", "200", "--export-peer", "/nonexistent/x"));
    } finally {
      System.setErr(old);
    }
  }
}
