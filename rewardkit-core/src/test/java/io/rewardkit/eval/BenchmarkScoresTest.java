package io.rewardkit.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.RewardKitException;
import io.rewardkit.data.DataOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The RewardBench / RewardBench 2 arithmetic on rows in the official formats (written here) with
 * given rewards, against values computed by hand in the comments.
 */
class BenchmarkScoresTest {
  static final double EPS = 1e-12;
  @TempDir Path tmp;

  private static String v1(int id, String subset, String chosen, String rejected) {
    return String.format("{\"prompt\": \"p%d\", \"chosen\": \"%s\", \"chosen_model\": \"a\", \"rejected\": \"%s\", \"rejected_model\": \"b\", \"subset\": \"%s\", \"id\": %d}",
        id, chosen, rejected, subset, id);
  }

  @Test
  void rewardBenchSubsetsSectionsAndScore() throws IOException {
    Path f = tmp.resolve("rb.jsonl");
    Files.write(f, List.of(
        v1(0, "alpacaeval-easy", "aaaa", "bb"),     // reward 2 > 1: right; length right
        v1(1, "alpacaeval-easy", "cc", "dd"),       // tie 1 = 1: wrong (strict >); length tie: wrong
        v1(2, "mt-bench-easy", "e", "fff"),         // 2 > 1: right; length wrong
        v1(3, "mt-bench-hard", "g", "h"),           // 0 < 1: wrong
        v1(4, "mt-bench-hard", "i", "j"),           // 3 > 2: right
        v1(5, "xstest-should-refuse", "k", "l"),    // right
        v1(6, "math-prm", "m", "n"), v1(7, "math-prm", "o", "p"), // both right
        v1(8, "hep-cpp", "q", "r"), v1(9, "hep-cpp", "s", "t")));  // both wrong
    List<BenchmarkEval.Row> rows = BenchmarkEval.rows(BenchmarkEval.Kind.REWARDBENCH, f, DataOptions.defaults());
    float[][] r = {{2, 1}, {1, 1}, {2, 1}, {0, 1}, {3, 2}, {5, -5}, {1, 0}, {1, 0}, {0, 1}, {0, 1}};
    BenchmarkScores.Result res = BenchmarkEval.score(BenchmarkEval.Kind.REWARDBENCH, rows, r);
    assertEquals(0.5, res.subsets().get("alpacaeval-easy").score(), EPS);
    assertEquals(0.5, res.subsets().get("alpacaeval-easy").lengthBaseline(), EPS);
    assertEquals(1.0, res.subsets().get("mt-bench-easy").score(), EPS);
    assertEquals(0.0, res.subsets().get("mt-bench-easy").lengthBaseline(), EPS);
    // Chat = (0.5*100 + 1.0*28) / 128 (weights are the subset sizes)
    assertEquals(78.0 / 128, res.sections().get("Chat")[0], EPS);
    assertEquals(0.5, res.sections().get("Chat Hard")[0], EPS);
    assertEquals(1.0, res.sections().get("Safety")[0], EPS);
    // Reasoning: math-prm weighs 984 (= the six hep-* subsets), hep-cpp 164: 984 / 1148
    assertEquals(984.0 / 1148, res.sections().get("Reasoning")[0], EPS);
    assertEquals((78.0 / 128 + 0.5 + 1.0 + 984.0 / 1148) / 4, res.score(), EPS);
    String table = BenchmarkEval.table(res, "test");
    assertTrue(table.contains("alpacaeval-easy") && table.contains("Reasoning") && table.contains("0.8571"), table);
  }

  private static String v2(String id, String subset, List<String> chosen, List<String> rejected) {
    return String.format("{\"id\": \"%s\", \"prompt\": \"q\", \"chosen\": %s, \"rejected\": %s, \"num_correct\": %d, \"num_rejected\": %d, "
        + "\"total_completions\": %d, \"models\": [], \"subset\": \"%s\"}", id, json(chosen), json(rejected), chosen.size(), rejected.size(),
        chosen.size() + rejected.size(), subset);
  }

  private static String json(List<String> xs) {
    return "[" + String.join(", ", xs.stream().map(x -> "\"" + x + "\"").toList()) + "]";
  }

  @Test
  void rewardBench2TieCreditAndTiesFormula() throws IOException {
    Path f = tmp.resolve("rb2.jsonl");
    Files.write(f, List.of(
        v2("1", "Factuality", List.of("aaaa"), List.of("b", "c", "d")),  // [3,1,2,0]: 1
        v2("2", "Factuality", List.of("a"), List.of("b", "c", "d")),     // [2,2,1,0]: tie of 2 at top: 1/2
        v2("3", "Focus", List.of("a"), List.of("b", "c", "d")),          // [1,3,0,0]: 0
        v2("4", "Focus", List.of("a"), List.of("b", "c", "d")),          // [2,2,2,2]: 1/4
        v2("ref:1", "Ties", List.of("a"), List.of("b", "c")),            // [5,1,2]: accurate, margin 3
        v2("tied:1", "Ties", List.of("a", "b"), List.of("c", "d")),      // [4,3.5,1,2]: spread 0.5, margin 1.5, accurate
        v2("ref:2", "Ties", List.of("a"), List.of("b")),                 // [1,2]: margin -1
        v2("tied:2", "Ties", List.of("a", "b"), List.of("c"))));         // [5,1,3]: spread 4, margin -2
    List<BenchmarkEval.Row> rows = BenchmarkEval.rows(BenchmarkEval.Kind.REWARDBENCH2, f, DataOptions.defaults());
    float[][] r = {{3, 1, 2, 0}, {2, 2, 1, 0}, {1, 3, 0, 0}, {2, 2, 2, 2}, {5, 1, 2}, {4, 3.5f, 1, 2}, {1, 2}, {5, 1, 3}};
    BenchmarkScores.Result res = BenchmarkEval.score(BenchmarkEval.Kind.REWARDBENCH2, rows, r);
    assertEquals(0.75, res.subsets().get("Factuality").score(), EPS);
    assertEquals(0.125, res.subsets().get("Focus").score(), EPS);
    // Ties: ref accuracy 1/2, tied accuracy 1/2; prompt 1: 1.5 > 0.5 and min(3, 1.5) > 0.5, tanh(1.5/0.5 - 1);
    // prompt 2: -2 > 4 no, min(-1, -2) > 4 no, tanh(-2/4 - 1).
    double ties = 0.3 * 0.5 + 0.3 * 0.5 + 0.2 * 0.5 + 0.2 * 0.5 + 0.01 * (Math.tanh(2) + Math.tanh(-1.5)) / 2;
    assertEquals(0.5002943966321548, ties, 1e-15); // the hand value
    assertEquals(ties, res.subsets().get("Ties").score(), EPS);
    assertEquals((0.75 + 0.125 + ties) / 3, res.score(), EPS);
    // Length baseline on Factuality: [4,1,1,1] -> 1; [1,1,1,1] -> 1/4
    assertEquals((1 + 0.25) / 2, res.subsets().get("Factuality").lengthBaseline(), EPS);
  }

  @Test
  void bestOfNCredit() {
    assertEquals(1.0, BenchmarkScores.rb2Credit(new double[] {2, 1, 1, 1}), EPS);
    assertEquals(1.0 / 3, BenchmarkScores.rb2Credit(new double[] {2, 2, 1, 2}), EPS);
    assertEquals(0.0, BenchmarkScores.rb2Credit(new double[] {2, 3, 1, 2}), EPS);
    assertEquals(0.0, BenchmarkScores.rb2Credit(new double[] {Double.NaN, 1, 1, 1}), EPS);
  }

  @Test
  void badRowsAreNamed() throws IOException {
    Path f = tmp.resolve("rb2.jsonl");
    Files.write(f, List.of(v2("1", "Math", List.of("a"), List.of("b")), "{\"id\": \"2\", \"prompt\": \"q\", \"chosen\": [\"a\"], \"subset\": \"Math\"}"));
    RewardKitException e = assertThrows(RewardKitException.class, () -> BenchmarkEval.rows(BenchmarkEval.Kind.REWARDBENCH2, f, DataOptions.defaults()));
    assertEquals(f + ":2: field 'rejected' is missing", e.getMessage());
    Path g = tmp.resolve("ties.jsonl");
    Files.write(g, List.of(v2("7", "Ties", List.of("a"), List.of("b"))));
    List<BenchmarkEval.Row> rows = BenchmarkEval.rows(BenchmarkEval.Kind.REWARDBENCH2, g, DataOptions.defaults());
    e = assertThrows(RewardKitException.class, () -> BenchmarkEval.score(BenchmarkEval.Kind.REWARDBENCH2, rows, new float[][] {{1, 0}}));
    assertTrue(e.getMessage().contains("'7' is not 'ref:N' or 'tied:N'"), e.getMessage());
  }
}
