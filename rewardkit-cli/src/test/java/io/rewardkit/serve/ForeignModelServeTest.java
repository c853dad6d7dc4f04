package io.rewardkit.serve;

import static io.rewardkit.serve.ServeTestSupport.config;
import static io.rewardkit.serve.ServeTestSupport.json;
import static io.rewardkit.serve.ServeTestSupport.post;
import static io.rewardkit.serve.ServeTestSupport.tree;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rewardkit.eval.HfParityTestAccess;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The server on an HF *ForSequenceClassification reward model without rewardkit.json (the tiny bases
 * of HfParityTest, goldens from tools/hf_parity.py): /score and /get_reward give what `rewardkit
 * score` gives on the same model (one encoding and readout), and what plain transformers gives
 * ("foreign_rewards": the full chat-template rendering, nothing appended) within 1e-5.
 */
class ForeignModelServeTest {
  @TempDir Path tmp;

  static Stream<String> foreignCases() throws Exception {
    List<String> out = new ArrayList<>();
    HfParityTestAccess.cases().forEach(c -> {
      if (golden(c).has("foreign_rewards")) out.add(c);
    });
    assertFalse(out.isEmpty(), "no foreign cases in the parity goldens");
    return out.stream();
  }

  static JsonNode golden(String c) {
    try {
      return ServeTestSupport.JSON.readTree(HfParityTestAccess.root().resolve(c).resolve("golden.json").toFile());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @ParameterizedTest
  @MethodSource("foreignCases")
  void scoreEndpointEqualsScoreCommandAndTransformers(String name) throws Exception {
    Path dir = HfParityTestAccess.root().resolve(name);
    Path base = dir.resolve("base");
    assertFalse(Files.exists(base.resolve("rewardkit.json")));
    JsonNode want = golden(name).get("foreign_rewards");
    List<String> lines = Files.readAllLines(dir.resolve("input.jsonl"));
    List<Map<String, Object>> cliLines = new ArrayList<>();
    for (String l : lines) {
      @SuppressWarnings("unchecked") Map<String, Object> m = ServeTestSupport.JSON.readValue(l, Map.class);
      cliLines.add(m);
    }
    List<JsonNode> cli = ServeTestSupport.scoreCli(base, tmp, cliLines);
    try (ServeTestSupport.Running s = new ServeTestSupport.Running(base, config(), null)) {
      assertTrue(s.loaded.options().readsLastToken(), "an HF model without rewardkit.json is read at its last token");
      for (int i = 0; i < lines.size(); i++) {
        HttpResponse<String> r = post(s.base + "/score", lines.get(i));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode got = tree(r).get("rewards");
        assertEquals(want.get(i).size(), got.size(), name + " line " + (i + 1));
        for (int k = 0; k < got.size(); k++) {
          String at = name + " line " + (i + 1) + " response " + (k + 1);
          assertTrue(got.get(k).isNumber(), at + " was not scored: " + r.body());
          assertEquals(want.get(i).get(k).asDouble(), got.get(k).asDouble(), 1e-5, at + " vs transformers");
          // score packs all lines into one batch, the endpoint one line per call: equal within
          // BatchInvarianceTest's bound (OpenBLAS rounds by a row's place in its micro-tile)
          assertEquals(cli.get(i).get("rewards").get(k).floatValue(), got.get(k).floatValue(), BatchInvarianceTest.TOLERANCE,
              at + " vs rewardkit score");
        }
      }
    }
  }

  /**
   * /get_reward with the full chat-template renderings as queries (OpenRLHF sends full texts). The
   * llama case's golden "texts" are exactly those renderings (its template ends in <|eot_id|>, which
   * the export's cut keeps); the Qwen-style ones end in "<|im_end|>\n" and the golden texts drop the "\n".
   */
  @Test
  void getRewardOnFullRenderingsEqualsTransformersAndScore() throws Exception {
    String name = "llama";
    Path dir = HfParityTestAccess.root().resolve(name);
    JsonNode g = golden(name);
    List<String> queries = new ArrayList<>();
    g.get("texts").forEach(t -> queries.add(t.asText()));
    List<Double> want = new ArrayList<>();
    g.get("foreign_rewards").forEach(row -> row.forEach(v -> want.add(v.asDouble())));
    assertEquals(want.size(), queries.size());
    List<Map<String, Object>> cliLines = new ArrayList<>();
    for (String q : queries) cliLines.add(Map.of("prompt", "", "response", q));
    List<JsonNode> cli = ServeTestSupport.scoreCli(dir.resolve("base"), tmp, cliLines);
    try (ServeTestSupport.Running s = new ServeTestSupport.Running(dir.resolve("base"), config(), null)) {
      HttpResponse<String> r = post(s.base + "/get_reward", json(Map.of("query", queries)));
      assertEquals(200, r.statusCode(), r.body());
      JsonNode got = tree(r).get("rewards");
      assertEquals(queries.size(), got.size());
      for (int i = 0; i < got.size(); i++) {
        assertEquals(want.get(i), got.get(i).asDouble(), 1e-5, "query " + i + " vs transformers");
        assertEquals(cli.get(i).get("rewards").get(0).floatValue(), got.get(i).floatValue(), BatchInvarianceTest.TOLERANCE,
            "query " + i + " vs rewardkit score");
      }
    }
  }
}
