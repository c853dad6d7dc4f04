package io.rewardkit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.DataOptions;
import io.rewardkit.eval.Scorer;
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
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rewardkit score}: JSONL in ({"prompt": text or messages, "responses": [..]} or
 * {"prompt", "response"}), one JSON line out per input line with the rewards in input order; a
 * response that could not be scored gets null there and its reason in a parallel "reasons" list;
 * --best_of_n adds the best response per prompt. The end of the run says how many were dropped and why.
 */
@Command(name = "score", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Score prompt + response(s) with a saved reward model (JSONL in, JSONL out).")
public final class ScoreCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, paramLabel = "DIR", description = "Checkpoint or model directory, or a training output directory; also any HF *ForSequenceClassification reward model (read at its last token, as transformers does).")
  Path model;
  @Option(names = "--input", required = true, paramLabel = "FILE.jsonl", description = "JSONL, one prompt per line: {\"prompt\": text or messages, \"responses\": [...]} or {\"prompt\", \"response\"}.") Path input;
  @Option(names = "--output", paramLabel = "FILE.jsonl", description = "Default: standard output.") Path output;
  @Option(names = "--best_of_n", description = "Add the index and text of the highest-reward response per prompt.") boolean bestOfN;
  @Option(names = "--max_length", paramLabel = "N", description = "Longest sequence in tokens: prompt + response + readout (default: the checkpoint's).") Integer maxLength;
  @Option(names = "--truncation", paramLabel = "drop|prompt_left|response_right", description = "Over-long responses: leave them unscored (null, reason too_long), cut the prompt from the left, or cut the response from the right (default: the checkpoint's).") String truncation;
  @Option(names = "--device", paramLabel = "cpu|cuda|auto", description = "Compute backend (default cpu).") String device = "cpu";
  @Option(names = "--threads", paramLabel = "N", description = "CPU threads (0: all cores).") int threads;

  private static final ObjectMapper JSON = new ObjectMapper();
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  private DataOptions.Truncation parseTruncation() {
    try {
      return DataOptions.Truncation.parse(truncation);
    } catch (RuntimeException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--truncation: " + e.getMessage());
    }
  }

  @Override
  public Integer call() throws Exception {
    if (!Files.isRegularFile(input)) throw new RewardKitException("input not found: " + input);
    if (maxLength != null && maxLength < 2) throw new CommandLine.ParameterException(spec.commandLine(), "--max_length must be >= 2, got " + maxLength);
    DataOptions.Truncation trunc = truncation == null ? null : parseTruncation();
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
    try (Backend backend = Backends.select(device)) {
      RunSetup.applyThreads(threads, backend);
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
      Path tmp = output == null ? null : output.toAbsolutePath().resolveSibling("." + output.getFileName() + ".tmp");
      try (Writer w = output == null ? new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8))
          : Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
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
      }
      if (output != null) Files.move(tmp, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      System.err.println("score: " + input + ": " + result.summary());
      for (Map.Entry<String, String> e : result.firstMessages().entrySet()) System.err.println("  " + e.getKey() + ", e.g. " + e.getValue());
    }
    return 0;
  }
}
