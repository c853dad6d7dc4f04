package io.rewardkit.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.cli.RewardKitCli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Export parity with plain transformers (goldens from tools/hf_parity.py, see its docstring): a tiny
 * base checkpoint exported by {@code rewardkit train --model_name_or_path} and read back by
 * AutoTokenizer + AutoModelForSequenceClassification on a right-padded (and a left-padded) batch
 * gives the rewards {@code rewardkit score} gives, within 1e-5 in fp32. The pooling position is
 * transformers' own (last token that is not config.json pad_token_id), so an export whose pad is the
 * readout token, or whose tokenizer files disagree with config.json, fails here.
 */
class HfParityTest {
  static final Path ROOT = root();
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  private static Path root() {
    try {
      return Path.of(HfParityTest.class.getResource("/parity/index.json").toURI()).getParent();
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static Stream<String> cases() throws Exception {
    List<String> out = new ArrayList<>();
    JSON.readTree(ROOT.resolve("index.json").toFile()).get("cases").forEach(c -> out.add(c.asText()));
    return out.stream();
  }

  @ParameterizedTest
  @MethodSource("cases")
  void exportedCheckpointScoresLikePlainTransformers(String name) throws Exception {
    Path dir = ROOT.resolve(name);
    JsonNode g = JSON.readTree(dir.resolve("golden.json").toFile());
    List<String> args = new ArrayList<>(List.of("train", "--model_name_or_path", dir.resolve("base").toString(),
        "--dataset", dir.resolve("pairs.jsonl").toString(), "--output_dir", tmp.resolve("run").toString()));
    g.get("train_args").forEach(a -> args.add(a.asText()));
    assertEquals(0, RewardKitCli.run(args.toArray(String[]::new)));
    Path export = tmp.resolve("run/final");

    // what transformers pools with: config.json pad_token_id, the tokenizer's pad_token
    JsonNode cfg = JSON.readTree(export.resolve("config.json").toFile());
    assertEquals(g.get("pad_token_id").asInt(), cfg.get("pad_token_id").asInt(), "config.json pad_token_id");
    assertNotEquals(g.get("reward_token_id").asInt(), cfg.get("pad_token_id").asInt(), "the pad must not be the readout token");
    JsonNode tc = JSON.readTree(export.resolve("tokenizer_config.json").toFile());
    assertEquals(g.get("pad_token").asText(), tc.get("pad_token").asText(), "tokenizer_config.json pad_token");
    assertTrue(cfg.hasNonNull("transformers_version"));

    assertScores(name, export, dir.resolve("input.jsonl"), g.get("rewards_right_padded"), g.get("rewards_left_padded"));
  }

  /**
   * Any HF reward model in: the base checkpoint itself has no rewardkit.json; score reads it where
   * transformers does (last token of the full chat-template rendering, nothing appended).
   */
  @ParameterizedTest
  @MethodSource("cases")
  void checkpointWithoutManifestIsReadLikeTransformers(String name) throws Exception {
    Path dir = ROOT.resolve(name);
    JsonNode g = JSON.readTree(dir.resolve("golden.json").toFile());
    if (!g.has("foreign_rewards")) return;  // a causal-LM base has no reward head to read
    assertTrue(!Files.exists(dir.resolve("base/rewardkit.json")));
    assertScores(name + " (no rewardkit.json)", dir.resolve("base"), dir.resolve("input.jsonl"), g.get("foreign_rewards"), null);
  }

  private void assertScores(String name, Path model, Path input, JsonNode right, JsonNode left) throws Exception {
    Path scores = tmp.resolve("scores-" + System.nanoTime() + ".jsonl");
    assertEquals(0, RewardKitCli.run("score", "--model", model.toString(), "--input", input.toString(), "--output", scores.toString()));
    List<String> lines = Files.readAllLines(scores);
    assertEquals(right.size(), lines.size());
    for (int i = 0; i < lines.size(); i++) {
      JsonNode r = JSON.readTree(lines.get(i)).get("rewards");
      assertEquals(right.get(i).size(), r.size(), "line " + (i + 1));
      for (int k = 0; k < r.size(); k++) {
        assertTrue(r.get(k).isNumber(), name + " line " + (i + 1) + " response " + (k + 1) + " was not scored");
        assertEquals(right.get(i).get(k).asDouble(), r.get(k).asDouble(), 1e-5, name + " right-padded, line " + (i + 1) + " response " + (k + 1));
        if (left != null) {
          assertEquals(left.get(i).get(k).asDouble(), r.get(k).asDouble(), 1e-5, name + " left-padded, line " + (i + 1) + " response " + (k + 1));
        }
      }
    }
  }
}
