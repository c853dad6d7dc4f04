package io.rewardkit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.DataOptions;
import io.rewardkit.eval.Scorer;
import io.rewardkit.io.AtomicFiles;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backends;
import io.rewardkit.train.ModelAdapter;
import io.rewardkit.train.RunSetup;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import io.rewardkit.config.Cmd;
import io.rewardkit.config.OptionValues;

/**
 * {@code rewardkit score}: JSONL in ({"prompt": text or messages, "responses": [..]} or
 * {"prompt", "response"}), one JSON line out per input line with the rewards in input order; a
 * response that could not be scored gets null there and its reason in a parallel "reasons" list;
 * --best_of_n adds the best response per prompt. The end of the run says how many were dropped and why.
 */
@Command(name = "score", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Score prompt + response(s) with a saved reward model (JSONL in, JSONL out).")
public final class ScoreCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    OptionValues v = CliOptions.values(Cmd.SCORE, spec, spec.commandLine().getErr());
    Path input = Path.of(v.getString("input"));
    Path model = Path.of(v.getString("model"));
    Path output = v.get("output") == null ? null : Path.of(v.getString("output"));
    boolean bestOfN = v.getBool("best_of_n");
    // --max_length / --truncation default to the checkpoint's
    Integer maxLength = v.given("max_length") ? v.getInt("max_length") : null;
    DataOptions.Truncation trunc = v.given("truncation") ? DataOptions.Truncation.parse(v.getString("truncation")) : null;
    if (!Files.isRegularFile(input)) throw new RewardKitException("input not found: " + input);
    List<JsonNode> rows = new ArrayList<>();
    List<Scorer.Item> items = new ArrayList<>();
    int lineNo = 0;
    for (String line : Files.readAllLines(input, StandardCharsets.UTF_8)) {
      lineNo++;
      if (line.isBlank()) continue;
      JsonNode n;
      try {
        n = JSON.readTree(line);
      } catch (IOException e) {
        throw new RewardKitException(input + ":" + lineNo + ": not valid JSON");
      }
      if (n == null || !n.isObject()) throw new RewardKitException(input + ":" + lineNo + ": expected a JSON object");
      List<JsonNode> responses = new ArrayList<>();
      if (n.has("responses") && n.get("responses").isArray()) n.get("responses").forEach(responses::add);
      else if (n.has("response")) responses.add(n.get("response"));
      else throw new RewardKitException(input + ":" + lineNo + ": needs 'responses' (a list) or 'response'");
      if (!n.has("prompt")) throw new RewardKitException(input + ":" + lineNo + ": missing field 'prompt'");
      rows.add(n);
      items.add(new Scorer.Item(input + ":" + lineNo, n.get("prompt"), responses));
    }
    try (Backend backend = Backends.select(v.getString("device"), v.getBool("bf16"))) {
      RunSetup.applyThreads(v.getInt("threads"), backend);
      RunSetup.Loaded m = RunSetup.open(model, backend);
      if (m.notice() != null) System.err.println(m.notice());
      Scorer.Result result;
      try (var mm = m.model(); var tok = m.tokenizer()) {
        DataOptions o = m.options();
        if (maxLength != null) o = o.withMaxLength(maxLength).withMaxTokensPerBatch(Math.max(o.maxTokensPerBatch(), 2 * maxLength + 2));
        if (trunc != null) o = o.withTruncation(trunc);
        m.model().config().checkMaxLength(o.maxLength(), "--max_length");
        result = Scorer.scoreAll(new ModelAdapter(m.model()), tok, o, items);
      }
      AtomicFiles.IoConsumer<Writer> body = w -> {
        for (int i = 0; i < rows.size(); i++) {
          ObjectNode o = JSON.createObjectNode();
          o.set("prompt", rows.get(i).get("prompt"));
          ArrayNode rs = o.putArray("rewards");
          List<Scorer.Scored> sc = result.scored().get(i);
          boolean anyDropped = false;
          for (Scorer.Scored s : sc) {
            if (s.isScored()) rs.add(s.reward());
            else { rs.addNull(); anyDropped = true; }
          }
          if (anyDropped) {
            // parallel to "rewards": why each null is null
            ArrayNode why = o.putArray("reasons");
            for (Scorer.Scored s : sc) {
              if (s.isScored()) why.addNull();
              else why.add(s.reason());
            }
          }
          if (bestOfN) {
            int best = result.best(i);
            o.put("best_index", best < 0 ? null : best);
            o.set("best_response", best < 0 ? null : items.get(i).responses().get(best));
          }
          w.write(JSON.writeValueAsString(o));
          w.write('\n');
        }
        w.flush();
      };
      if (output == null) body.accept(new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8)));
      else AtomicFiles.write(output, out -> body.accept(new OutputStreamWriter(out, StandardCharsets.UTF_8)));
      System.err.println("score: " + input + ": " + result.summary());
      for (Map.Entry<String, String> e : result.firstMessages().entrySet()) System.err.println("  " + e.getKey() + ", e.g. " + e.getValue());
    }
    return 0;
  }
}
