package io.rewardkit.serve;

import static io.rewardkit.serve.ServeTestSupport.config;
import static io.rewardkit.serve.ServeTestSupport.doubles;
import static io.rewardkit.serve.ServeTestSupport.get;
import static io.rewardkit.serve.ServeTestSupport.json;
import static io.rewardkit.serve.ServeTestSupport.post;
import static io.rewardkit.serve.ServeTestSupport.postAsync;
import static io.rewardkit.serve.ServeTestSupport.tree;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.rewardkit.data.DataOptions;
import io.rewardkit.train.SyntheticTask;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server's protocols against `rewardkit score`, and its refusals, over loopback HTTP. */
class RewardServerTest {
  static ServeTestSupport.Running srv;
  @TempDir Path tmp;

  @BeforeAll static void start() throws Exception { srv = new ServeTestSupport.Running(config(), null); }

  @AfterAll static void stop() { if (srv != null) srv.close(); }

  static List<SyntheticTask.Example> examples(int n, long seed) { return SyntheticTask.generate(n, seed); }

  @Test void v1QueriesEqualScoreCommandOnTheSameTexts() throws Exception {
    List<String> queries = new ArrayList<>();
    List<Map<String, Object>> lines = new ArrayList<>();
    for (SyntheticTask.Example e : examples(12, 7)) {
      for (String resp : List.of(e.chosen(), e.rejected())) {
        queries.add(e.prompt() + resp);
        lines.add(Map.of("prompt", "", "response", e.prompt() + resp));
      }
    }
    HttpResponse<String> r = post(srv.base + "/get_reward", json(Map.of("query", queries)));
    assertEquals(200, r.statusCode(), r.body());
    JsonNode n = tree(r);
    assertFalse(n.has("scores"), "v1 answers rewards only");
    double[] got = doubles(n.get("rewards"));
    List<JsonNode> cli = ServeTestSupport.scoreCli(tmp, lines);
    assertEquals(queries.size(), got.length);
    for (int i = 0; i < got.length; i++) assertEquals(cli.get(i).get("rewards").get(0).asDouble(), got[i], 1e-6, "query " + i);
    // and the rewards are not all one value (a model that ignores its input would pass the above)
    assertTrue(Arrays.stream(got).distinct().count() > 4);
  }

  @Test void v2PromptsSplitTheQueryAsScoreDoes() throws Exception {
    List<String> queries = new ArrayList<>(), prompts = new ArrayList<>();
    List<Object> labels = new ArrayList<>();
    List<Map<String, Object>> lines = new ArrayList<>();
    for (SyntheticTask.Example e : examples(10, 11)) {
      queries.add(e.prompt() + e.chosen());
      prompts.add(e.prompt());
      labels.add(null);
      lines.add(Map.of("prompt", e.prompt(), "response", e.chosen()));
    }
    Map<String, Object> body = new HashMap<>();
    body.put("query", queries);
    body.put("prompts", prompts);
    body.put("labels", labels);
    HttpResponse<String> r = post(srv.base + "/get_reward", json(body));
    assertEquals(200, r.statusCode(), r.body());
    JsonNode n = tree(r);
    double[] got = doubles(n.get("rewards"));
    assertArrayEquals(got, doubles(n.get("scores")), 0.0);
    assertEquals(queries.size(), n.get("extra_logs").get("truncated").size());
    List<JsonNode> cli = ServeTestSupport.scoreCli(tmp, lines);
    for (int i = 0; i < got.length; i++) assertEquals(cli.get(i).get("rewards").get(0).asDouble(), got[i], 1e-6, "query " + i);
    // an empty generation (query == prompt) still gets a reward: the whole query's, as in v1
    Map<String, Object> empty = new HashMap<>();
    empty.put("query", List.of("copy abc:"));
    empty.put("prompts", List.of("copy abc:"));
    HttpResponse<String> e = post(srv.base + "/get_reward", json(empty));
    assertEquals(200, e.statusCode(), e.body());
    double v1 = doubles(tree(post(srv.base + "/get_reward", json(Map.of("query", List.of("copy abc:")))))
        .get("rewards"))[0];
    assertEquals(v1, doubles(tree(e).get("rewards"))[0], 0.0);
  }

  @Test void scoreEndpointEqualsScoreCommandAndPicksTheBest() throws Exception {
    List<Map<String, Object>> lines = new ArrayList<>();
    for (SyntheticTask.Example e : examples(6, 3)) {
      lines.add(Map.of("prompt", e.prompt(), "responses", List.of(e.rejected(), e.chosen(), e.chosen() + "x")));
    }
    // chat messages go through the checkpoint's chat template, as in `rewardkit score`
    lines.add(Map.of("prompt", List.of(Map.of("role", "user", "content", "abc")),
        "responses", List.of("abc", Map.of("role", "assistant", "content", "cab"))));
    List<JsonNode> cli = ServeTestSupport.scoreCli(tmp, lines);
    for (int i = 0; i < lines.size(); i++) {
      HttpResponse<String> r = post(srv.base + "/score", json(lines.get(i)));
      assertEquals(200, r.statusCode(), r.body());
      JsonNode n = tree(r);
      double[] got = doubles(n.get("rewards"));
      double[] want = doubles(cli.get(i).get("rewards"));
      assertArrayEquals(want, got, 1e-6);
      int best = 0;
      for (int k = 1; k < got.length; k++) if (got[k] > got[best]) best = k;
      assertEquals(best, n.get("best_index").asInt());
    }
  }

  /** A whitespace-only response is empty_response (as train drops that pair) in /score and score alike. */
  @Test void whitespaceResponseIsEmptyResponseInScoreAndServe() throws Exception {
    SyntheticTask.Example e = examples(1, 11).get(0);
    Map<String, Object> text = Map.of("prompt", e.prompt(), "responses", List.of(e.chosen(), " \n\t ", e.rejected()));
    Map<String, Object> chat = Map.of("prompt", List.of(Map.of("role", "user", "content", "abc")),
        "responses", List.of("   ", "cab"));
    List<JsonNode> cli = ServeTestSupport.scoreCli(tmp, List.of(text, chat));
    int[] blank = {1, 0};
    List<Map<String, Object>> lines = List.of(text, chat);
    for (int i = 0; i < 2; i++) {
      JsonNode want = cli.get(i);
      assertTrue(want.get("rewards").get(blank[i]).isNull(), want.toString());
      assertEquals("empty_response", want.get("reasons").get(blank[i]).asText());
      HttpResponse<String> r = post(srv.base + "/score", json(lines.get(i)));
      assertEquals(200, r.statusCode(), r.body());
      JsonNode n = tree(r);
      assertTrue(n.get("rewards").get(blank[i]).isNull(), r.body());
      assertEquals("empty_response", n.get("reasons").get(blank[i]).asText());
      assertEquals("empty_response", n.get("dropped").get(0).get("reason").asText());
      assertArrayEquals(doubles(want.get("rewards")), doubles(n.get("rewards")), 1e-6);
    }
    // /get_reward: a whitespace-only query has nothing to score (422 naming it), like an empty one
    HttpResponse<String> q = post(srv.base + "/get_reward", json(Map.of("query", List.of("abc", "  "))));
    assertEquals(422, q.statusCode(), q.body());
    assertTrue(q.body().contains("query[1]"), q.body());
  }

  @Test void sameTextAloneAndAmong63OthersGivesTheSameReward() throws Exception {
    String x = "abc|cab" ;
    double alone = doubles(tree(post(srv.base + "/get_reward", json(Map.of("query", List.of(x))))).get("rewards"))[0];
    List<String> many = new ArrayList<>();
    for (SyntheticTask.Example e : examples(63, 99)) many.add(e.prompt() + e.rejected() + e.chosen());
    many.add(17, x);
    double among = doubles(tree(post(srv.base + "/get_reward", json(Map.of("query", many)))).get("rewards"))[17];
    assertEquals(alone, among, 1e-6);
    // and as one of 64 concurrent requests, batched together by the server
    List<CompletableFuture<HttpResponse<String>>> fs = new ArrayList<>();
    for (int i = 0; i < 64; i++) fs.add(postAsync(srv.base + "/get_reward", json(Map.of("query", List.of(i == 40 ? x : many.get(i))))));
    for (int i = 0; i < 64; i++) {
      HttpResponse<String> r = fs.get(i).get();
      assertEquals(200, r.statusCode(), r.body());
      if (i == 40) assertEquals(alone, doubles(tree(r).get("rewards"))[0], 1e-6);
    }
  }

  @Test void malformedInputIs400NamingTheField() throws Exception {
    assertError(post(srv.base + "/get_reward", "{\"query\": [\"a\""), 400, null);
    assertError(post(srv.base + "/get_reward", "[1, 2]"), 400, null);
    assertError(post(srv.base + "/get_reward", "{}"), 400, "query");
    assertError(post(srv.base + "/get_reward", "{\"query\": \"abc\"}"), 400, "query");
    assertError(post(srv.base + "/get_reward", "{\"query\": [\"a\", \"b\", 3]}"), 400, "query[2]");
    assertError(post(srv.base + "/get_reward", "{\"query\": [\"a\", \"b\"], \"prompts\": [\"a\"]}"), 400, "prompts");
    assertError(post(srv.base + "/score", "{\"responses\": [\"a\"]}"), 400, "prompt");
    assertError(post(srv.base + "/score", "{\"prompt\": \"p\", \"responses\": [\"a\", {\"x\": 1}]}"), 400, "responses[1]");
    assertError(post(srv.base + "/score", "{\"prompt\": [{\"role\": \"user\"}], \"responses\": [\"a\"]}"), 400, "prompt[0].content");
    assertEquals(404, get(srv.base + "/nope").statusCode());
    assertEquals(405, get(srv.base + "/get_reward").statusCode());
  }

  @Test void tooLongTextsFollowTheTruncationPolicy() throws Exception {
    String longText = "abcdefgh".repeat(10); // 80 bytes > max_length 48
    // drop (the checkpoint's policy): /get_reward refuses naming the query, /score gives null + reason
    assertError(post(srv.base + "/get_reward", json(Map.of("query", List.of("abc", longText)))), 422, "query[1]");
    JsonNode s = tree(post(srv.base + "/score", json(Map.of("prompt", "ab|", "responses", List.of("ab", longText)))));
    assertTrue(s.get("rewards").get(1).isNull());
    assertEquals(0, s.get("best_index").asInt());
    assertEquals("too_long", s.get("dropped").get(0).get("reason").asText());
    assertTrue(s.get("reasons").get(0).isNull());
    assertEquals("too_long", s.get("reasons").get(1).asText());
    assertEquals("responses[1]", s.get("dropped").get(0).get("field").asText());
    // response_right: scored after the cut, and the answer says which ones were cut
    try (ServeTestSupport.Running cut = new ServeTestSupport.Running(config(), DataOptions.Truncation.RESPONSE_RIGHT)) {
      JsonNode n = tree(post(cut.base + "/get_reward", json(Map.of("query", List.of("abc", longText)))));
      assertEquals(2, n.get("rewards").size());
      assertEquals(List.of(1), List.of(n.get("truncated").get(0).asInt()));
      assertEquals(1, n.get("truncated").size());
      double cutReward = n.get("rewards").get(1).asDouble();
      double prefix = tree(post(cut.base + "/get_reward", json(Map.of("query", List.of(longText.substring(0, 47))))))
          .get("rewards").get(0).asDouble();
      assertEquals(prefix, cutReward, 1e-6, "the cut text is scored as its first max_length-1 tokens");
    }
    // prompt_left needs the prompt: v2 prompts let the server keep the response and cut the prompt's start
    try (ServeTestSupport.Running left = new ServeTestSupport.Running(config(), DataOptions.Truncation.PROMPT_LEFT)) {
      String prompt = "copy " + "abcdefgh".repeat(6) + ":";
      Map<String, Object> body = new HashMap<>();
      body.put("query", List.of(prompt + "abc"));
      body.put("prompts", List.of(prompt));
      JsonNode n = tree(post(left.base + "/get_reward", json(body)));
      assertEquals(1, n.get("truncated").size(), n.toString());
      assertEquals(1.0, n.get("extra_logs").get("truncated").get(0).asDouble());
      double tail = tree(post(left.base + "/get_reward", json(Map.of("query", List.of(prompt.substring(prompt.length() - 44) + "abc")))))
          .get("rewards").get(0).asDouble();
      assertEquals(tail, n.get("rewards").get(0).asDouble(), 1e-6, "scored as the prompt's last 44 tokens + response");
      // without prompts the whole query is the response: too long for prompt_left, refused naming it
      assertError(post(left.base + "/get_reward", json(Map.of("query", List.of(prompt + "abc")))), 422, "query[0]");
    }
  }

  @Test void sizeLimitsAre413NamingTheField() throws Exception {
    ServeConfig small = config().withLimits(2000, 4, 100);
    try (ServeTestSupport.Running s = new ServeTestSupport.Running(small, null)) {
      assertError(post(s.base + "/get_reward", json(Map.of("query", List.of("x".repeat(1900), "y".repeat(200))))), 413, null);
      assertError(post(s.base + "/get_reward", json(Map.of("query", List.of("a", "b", "c", "d", "e")))), 413, "query");
      assertError(post(s.base + "/get_reward", json(Map.of("query", List.of("a", "b".repeat(101))))), 413, "query[1]");
      assertEquals(200, post(s.base + "/get_reward", json(Map.of("query", List.of("a", "b")))).statusCode());
    }
  }

  @Test void apiKeyIsRequiredWhenSet() throws Exception {
    try (ServeTestSupport.Running s = new ServeTestSupport.Running(config().withApiKey("s3cret-key"), null)) {
      String body = json(Map.of("query", List.of("abc")));
      HttpResponse<String> none = post(s.base + "/get_reward", body);
      assertError(none, 401, null);
      assertEquals("Bearer", none.headers().firstValue("WWW-Authenticate").orElse(""));
      assertError(post(s.base + "/get_reward", body, "Authorization", "Bearer s3cret-kez"), 401, null);
      assertError(post(s.base + "/get_reward", body, "Authorization", "Bearer s3cret-key-and-more"), 401, null);
      assertEquals(401, get(s.base + "/metrics").statusCode());
      assertEquals(200, post(s.base + "/get_reward", body, "Authorization", "Bearer s3cret-key").statusCode());
      assertEquals(200, get(s.base + "/health").statusCode());
      assertEquals(200, get(s.base + "/ready").statusCode());
    }
  }

  @Test void fullQueueAnswers429WithRetryAfter() throws Exception {
    // The first request waits (max_wait 3 s, below the batch budget) and fills the queue's 100 tokens.
    ServeConfig cfg = config().withBatching(100, 3000).withMaxQueueTokens(100);
    try (ServeTestSupport.Running s = new ServeTestSupport.Running(cfg, null)) {
      CompletableFuture<HttpResponse<String>> first = postAsync(s.base + "/get_reward", json(Map.of("query", List.of("a".repeat(40), "b".repeat(40)))));
      long until = System.nanoTime() + 10_000_000_000L;
      while (s.server.metrics().queueTokens.get() < 80 && System.nanoTime() < until) Thread.sleep(10);
      HttpResponse<String> full = post(s.base + "/get_reward", json(Map.of("query", List.of("c".repeat(30)))));
      assertError(full, 429, null);
      assertEquals("1", full.headers().firstValue("Retry-After").orElse(""));
      assertEquals(200, first.get().statusCode(), "the queued request is still answered");
      // a request larger than the whole queue can never fit: 413, not 429
      assertError(post(s.base + "/get_reward", json(Map.of("query", List.of("a".repeat(40), "b".repeat(40), "c".repeat(40))))), 413, null);
    }
  }

  @Test void aRequestNotAnsweredInTimeGets504AndLeavesTheQueue() throws Exception {
    ServeConfig cfg = config().withBatching(4096, 5000).withTimeouts(300, 1000);
    try (ServeTestSupport.Running s = new ServeTestSupport.Running(cfg, null)) {
      assertError(post(s.base + "/get_reward", json(Map.of("query", List.of("abc")))), 504, null);
      assertEquals(0, s.server.metrics().queueTokens.get(), 0.0);
    }
  }

  @Test void healthReadyAndMetrics() throws Exception {
    assertEquals(200, get(srv.base + "/health").statusCode());
    assertEquals("ready", tree(get(srv.base + "/ready")).get("status").asText());
    post(srv.base + "/get_reward", json(Map.of("query", List.of("abc", "abd"))));
    String m = get(srv.base + "/metrics").body();
    for (String name : List.of("rewardkit_requests_total{code=\"200\",endpoint=\"get_reward\"}", "rewardkit_queue_tokens",
        "rewardkit_batch_sequences_bucket", "rewardkit_batch_tokens_bucket", "rewardkit_scored_tokens_total",
        "rewardkit_request_duration_seconds_bucket", "rewardkit_forward_tokens_per_second")) {
      assertTrue(m.contains(name), name + " missing from /metrics:\n" + m);
    }
  }

  static void assertError(HttpResponse<String> r, int status, String field) throws Exception {
    assertEquals(status, r.statusCode(), r.body());
    JsonNode e = tree(r).get("error");
    assertTrue(e != null && e.hasNonNull("message") && e.hasNonNull("kind"), r.body());
    if (field != null) {
      assertEquals(field, e.path("field").asText(), r.body());
      assertTrue(e.get("message").asText().contains(field), r.body());
    }
    assertFalse(e.get("message").asText().matches(".*(Exception|\\.java:).*"), "no Java internals: " + r.body());
  }
}
