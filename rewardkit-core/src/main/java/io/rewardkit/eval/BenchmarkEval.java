package io.rewardkit.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.ChatTemplate;
import io.rewardkit.data.DataOptions;
import io.rewardkit.data.DataPipeline;
import io.rewardkit.data.Tokenizer;
import io.rewardkit.model.TrainableModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * RewardBench / RewardBench 2 on a local copy of the benchmark (JSONL, Parquet, a save_to_disk
 * folder, or allenai/reward-bench[-2] in the Hub cache), in the official row formats:
 * v1 {prompt, chosen, rejected, subset, id} (strings), v2 {prompt, chosen: [..], rejected: [..],
 * num_correct, subset, id}. Each response is scored as the official scripts present it: the
 * conversation [user: prompt, assistant: response] through the tokenizer's chat template (the
 * checkpoint's --chat_template), or, when there is none, prompt and response as plain text
 * (RewardKit's text form, where the official script would use a FastChat template).
 */
public final class BenchmarkEval {
  private BenchmarkEval() {}

  public enum Kind {
    REWARDBENCH("rewardbench", "filtered"), REWARDBENCH2("rewardbench2", "test");
    public final String cliName;
    /** The split of the Hub dataset (allenai/reward-bench: filtered; allenai/reward-bench-2: test). */
    public final String hubSplit;
    Kind(String cliName, String hubSplit) { this.cliName = cliName; this.hubSplit = hubSplit; }

    public static Kind parse(String s) {
      for (Kind k : values()) if (k.cliName.equalsIgnoreCase(s) || k.name().equalsIgnoreCase(s)) return k;
      throw new RewardKitException("unknown --benchmark '" + s + "' (rewardbench, rewardbench2)");
    }
  }

  /** One benchmark row: its candidates (v1: chosen, rejected; v2: chosen..., rejected...). */
  record Row(String id, String subset, String prompt, List<String> candidates, int numCorrect, String where) {}

  /** Reads the rows (every problem names file and row). */
  static List<Row> rows(Kind kind, Path dataset, DataOptions options) {
    List<Row> rows = new ArrayList<>();
    DataPipeline.forEachRow(dataset, options, (n, where) -> rows.add(kind == Kind.REWARDBENCH ? v1(n, where) : v2(n, where)));
    if (rows.isEmpty()) throw new RewardKitException(dataset + ": no rows");
    return rows;
  }

  private static Row v1(ObjectNode n, String where) {
    String c = text(n, "chosen", where), r = text(n, "rejected", where);
    return new Row(n.path("id").asText(""), text(n, "subset", where), text(n, "prompt", where), List.of(c, r), 1, where);
  }

  private static Row v2(ObjectNode n, String where) {
    List<String> cands = new ArrayList<>();
    int nc = texts(n, "chosen", where, cands);
    texts(n, "rejected", where, cands);
    if (nc < 1 || cands.size() < 2) throw new RewardKitException(where + ": needs at least one 'chosen' and one 'rejected' completion");
    JsonNode num = n.get("num_correct");
    if (num != null && num.isNumber() && num.asInt() != nc) {
      throw new RewardKitException(where + ": 'num_correct' is " + num.asInt() + " but 'chosen' has " + nc + " completions");
    }
    return new Row(text(n, "id", where), text(n, "subset", where), text(n, "prompt", where), cands, nc, where);
  }

  private static String text(ObjectNode n, String key, String where) {
    JsonNode v = n.get(key);
    if (v == null || v.isNull()) throw new RewardKitException(where + ": field '" + key + "' is missing");
    if (!v.isTextual() && !v.isNumber()) throw new RewardKitException(where + ": field '" + key + "' must be a string");
    return v.asText();
  }

  private static int texts(ObjectNode n, String key, String where, List<String> out) {
    JsonNode v = n.get(key);
    if (v == null || v.isNull()) throw new RewardKitException(where + ": field '" + key + "' is missing");
    if (v.isTextual()) { out.add(v.asText()); return 1; }
    if (!v.isArray()) throw new RewardKitException(where + ": field '" + key + "' must be a list of strings");
    for (JsonNode e : v) {
      if (!e.isTextual()) throw new RewardKitException(where + ": field '" + key + "' must be a list of strings");
      out.add(e.asText());
    }
    return v.size();
  }

  /** Scores every candidate with the model and runs the benchmark's arithmetic. */
  public static BenchmarkScores.Result run(Kind kind, Path dataset, TrainableModel model, Tokenizer tok, DataOptions options) {
    List<Row> rows = rows(kind, dataset, options);
    boolean chat = DataPipeline.template(options, tok) != null;
    List<Scorer.Item> items = new ArrayList<>(rows.size());
    JsonNodeFactory f = JsonNodeFactory.instance;
    for (Row r : rows) {
      JsonNode prompt = chat ? f.arrayNode().add(f.objectNode().put("role", "user").put("content", r.prompt())) : f.textNode(r.prompt());
      List<JsonNode> cands = new ArrayList<>();
      for (String c : r.candidates()) cands.add(f.textNode(c));
      items.add(new Scorer.Item(prompt, cands));
    }
    float[][] rewards = Scorer.score(model, tok, options, items);
    return score(kind, rows, rewards);
  }

  /** The benchmark's arithmetic on rewards (rewards[i][k] for row i, candidate k; NaN = not scored). */
  static BenchmarkScores.Result score(Kind kind, List<Row> rows, float[][] rewards) {
    double[][] r = new double[rows.size()][], len = new double[rows.size()][];
    List<String> subsets = new ArrayList<>(), ids = new ArrayList<>();
    int[] numCorrect = new int[rows.size()];
    for (int i = 0; i < rows.size(); i++) {
      Row row = rows.get(i);
      r[i] = new double[row.candidates().size()];
      len[i] = new double[row.candidates().size()];
      for (int k = 0; k < r[i].length; k++) {
        r[i][k] = rewards[i][k];
        String c = row.candidates().get(k);
        len[i][k] = c.codePointCount(0, c.length());
      }
      subsets.add(row.subset());
      ids.add(row.id());
      numCorrect[i] = row.numCorrect();
    }
    return kind == Kind.REWARDBENCH ? BenchmarkScores.rewardBench(subsets, r, len)
        : BenchmarkScores.rewardBench2(subsets, ids, numCorrect, r, len);
  }

  /** The per-subset table (and sections for v1) as printed. */
  public static String table(BenchmarkScores.Result res, String templateNote) {
    StringBuilder sb = new StringBuilder();
    int n = res.subsets().values().stream().mapToInt(BenchmarkScores.Subset::n).sum();
    sb.append(String.format(Locale.ROOT, "%s: %d %s, %s%n", res.benchmark().equals("rewardbench") ? "RewardBench" : "RewardBench 2", n,
        res.benchmark().equals("rewardbench") ? "pairs" : "prompts", templateNote));
    String scoreCol = res.benchmark().equals("rewardbench") ? "accuracy" : "score";
    sb.append(String.format(Locale.ROOT, "  %-24s %6s %9s %9s%n", "subset", "n", scoreCol, "length"));
    int unscored = 0;
    for (BenchmarkScores.Subset s : res.subsets().values()) {
      sb.append(String.format(Locale.ROOT, "  %-24s %6d %9.4f %9.4f%s%n", s.name(), s.n(), s.score(), s.lengthBaseline(),
          s.name().equalsIgnoreCase("ties") ? "   (Ties formula)" : ""));
      unscored += s.unscored();
    }
    if (!res.sections().isEmpty()) {
      sb.append(String.format(Locale.ROOT, "  %-24s %6s %9s %9s%n", "section", "", "score", "length"));
      res.sections().forEach((k, v) -> sb.append(String.format(Locale.ROOT, "  %-24s %6s %9.4f %9.4f%n", k, "", v[0], v[1])));
    }
    sb.append(String.format(Locale.ROOT, "  %-24s %6s %9.4f %9.4f   (mean of the %s)%n", "score", "", res.score(), res.lengthBaselineScore(),
        res.sections().isEmpty() ? "subsets" : "sections"));
    if (unscored > 0) {
      sb.append(String.format(Locale.ROOT, "  note: %d items had a response longer than --max_length and count as wrong%n", unscored));
    }
    sb.append("  length: the same rules with reward = response length in characters\n");
    return sb.toString();
  }

  /** All numbers as a JSON object. */
  public static Map<String, Object> json(BenchmarkScores.Result res, String model, String dataset, String template) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("benchmark", res.benchmark());
    m.put("model", model);
    m.put("dataset", dataset);
    m.put("chat_template", template);
    Map<String, Object> subs = new LinkedHashMap<>();
    for (BenchmarkScores.Subset s : res.subsets().values()) {
      Map<String, Object> x = new LinkedHashMap<>();
      x.put("n", s.n());
      x.put("score", s.score());
      x.put("length_baseline", s.lengthBaseline());
      x.put("unscored", s.unscored());
      subs.put(s.name(), x);
    }
    m.put("subsets", subs);
    if (!res.sections().isEmpty()) {
      Map<String, Object> sec = new LinkedHashMap<>();
      res.sections().forEach((k, v) -> sec.put(k, Map.of("score", v[0], "length_baseline", v[1])));
      m.put("sections", sec);
    }
    m.put("score", res.score());
    m.put("length_baseline_score", res.lengthBaselineScore());
    return m;
  }

  /** How responses were presented, for the table and the JSON. */
  public static String templateNote(DataOptions options, Tokenizer tok) {
    ChatTemplate t = DataPipeline.template(options, tok);
    return t == null ? "no chat template: prompt and response as plain text"
        : "chat template " + t.hash().substring(0, 12) + " on [user: prompt, assistant: response]";
  }
}
