package io.rewardkit.eval;

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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10 (1): a response too long for max_length must not shift the rewards of the responses after
 * it. 4 prompts x 2 responses, prompt 2's second response is 60 x "x", max_length 48 (the default
 * model's): every other response gets exactly the reward it gets when scored alone, the long one
 * null with reason too_long, and best_of_n never picks an unscored response.
 */
class ScoreMappingTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String[][] ROWS = {{"abc", "abc", "abd"}, {"hello", "hello", "x".repeat(60)}, {"qq", "qq", "q"}, {"zz", "z", "zz"}};
  @TempDir static Path tmp;
  static Path model;

  @BeforeAll
  static void trainDefaultModel() {
    // a few steps of the embedded default: its model, byte tokenizer and max_length 48
    assertEquals(0, RewardKitCli.run("train", "--output_dir", tmp.resolve("run").toString(), "--synthetic_train_pairs", "64",
        "--synthetic_eval_pairs", "8", "--max_steps", "2", "--report", "false", "--save_steps", "0"));
    model = tmp.resolve("run/final");
  }

  static List<JsonNode> score(String name, List<String> lines, String... extra) throws Exception {
    Path in = tmp.resolve(name + ".jsonl"), out = tmp.resolve(name + ".out.jsonl");
    Files.write(in, lines, StandardCharsets.UTF_8);
    List<String> args = new ArrayList<>(List.of("score", "--model", model.toString(), "--input", in.toString(),
        "--output", out.toString(), "--best_of_n"));
    args.addAll(List.of(extra));
    assertEquals(0, RewardKitCli.run(args.toArray(String[]::new)));
    List<JsonNode> res = new ArrayList<>();
    for (String l : Files.readAllLines(out)) res.add(JSON.readTree(l));
    return res;
  }

  static List<String> input() throws Exception {
    List<String> lines = new ArrayList<>();
    for (String[] r : ROWS) lines.add(JSON.writeValueAsString(Map.of("prompt", r[0], "responses", List.of(r[1], r[2]))));
    return lines;
  }

  @Test
  void droppedResponseShiftsNothing() throws Exception {
    PrintStream err = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    List<JsonNode> all;
    try {
      System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
      all = score("batch", input());
    } finally {
      System.setErr(err);
    }
    assertEquals(4, all.size());
    for (int i = 0; i < ROWS.length; i++) {
      for (int k = 0; k < 2; k++) {
        JsonNode got = all.get(i).get("rewards").get(k);
        if (i == 1 && k == 1) {
          assertTrue(got.isNull(), "the 60-byte response cannot fit max_length 48");
          assertEquals("too_long", all.get(i).get("reasons").get(1).asText());
          continue;
        }
        String line = JSON.writeValueAsString(Map.of("prompt", ROWS[i][0], "responses", List.of(ROWS[i][k + 1])));
        double alone = score("single-" + i + "-" + k, List.of(line)).get(0).get("rewards").get(0).asDouble();
        assertEquals(alone, got.asDouble(), 1e-5, "prompt " + (i + 1) + " response " + (k + 1));
      }
    }
    assertEquals(0, all.get(1).get("best_index").asInt());
    for (JsonNode n : List.of(all.get(0), all.get(2), all.get(3))) assertTrue(!n.has("reasons"), n.toString());
    String summary = captured.toString(StandardCharsets.UTF_8);
    assertTrue(summary.contains("8 responses read, 7 scored, 1 dropped (too_long 1)"), summary);
  }

  @Test
  void maxLengthAndTruncationOptions() throws Exception {
    String fifty = JSON.writeValueAsString(Map.of("prompt", "hello", "responses", List.of("x".repeat(50), "hello")));
    assertTrue(score("fifty", List.of(fifty)).get(0).get("rewards").get(0).isNull(), "56 tokens > the checkpoint's 48");
    List<JsonNode> longer = score("long", List.of(fifty), "--max_length", "64", "--threads", "1");
    for (JsonNode r : longer.get(0).get("rewards")) assertTrue(r.isNumber(), longer.toString());
    // longer than the model's positions: a usage error, not a crash
    assertEquals(1, RewardKitCli.run("score", "--model", model.toString(), "--input", tmp.resolve("fifty.jsonl").toString(),
        "--max_length", "80"));
    List<JsonNode> cut = score("cut", input(), "--truncation", "response_right");
    assertTrue(cut.get(1).get("rewards").get(1).isNumber(), "response_right cuts the long response to fit");
    List<JsonNode> dflt = score("dflt", input());
    assertEquals(dflt.get(2).get("rewards").get(0).asDouble(), cut.get(2).get("rewards").get(0).asDouble(), 1e-5);
    assertEquals(2, RewardKitCli.run("score", "--model", model.toString(), "--input", tmp.resolve("long.jsonl").toString(),
        "--truncation", "sideways"));
  }
}
