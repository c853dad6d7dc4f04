package io.rewardkit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import io.rewardkit.config.Cmd;
import io.rewardkit.config.OptionValues;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code rewardkit score}: JSONL in ({"prompt": text or messages, "responses": [..]} or
 * {"prompt", "response"}), one JSON line out per input line with the rewards; --best_of_n adds the
 * best response per prompt.
 */
@Command(name = "score", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Score prompt + response(s) with a saved reward model (JSONL in, JSONL out).")
public final class ScoreCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  private static final ObjectMapper JSON = new ObjectMapper();

  @Override
  public Integer call() throws Exception {
    OptionValues v = CliOptions.values(Cmd.SCORE, spec, spec.commandLine().getErr());
    Path input = Path.of(v.getString("input"));
    Path model = Path.of(v.getString("model"));
    Path output = v.get("output") == null ? null : Path.of(v.getString("output"));
    boolean bestOfN = v.getBool("best_of_n");
    String device = v.getString("device");
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
      List<JsonNode> responses = new ArrayList<>();
      if (n.has("responses") && n.get("responses").isArray()) n.get("responses").forEach(responses::add);
      else if (n.has("response")) responses.add(n.get("response"));
      else throw new RewardKitException(input + ":" + lineNo + ": needs 'responses' (a list) or 'response'");
      if (!n.has("prompt")) throw new RewardKitException(input + ":" + lineNo + ": missing field 'prompt'");
      rows.add(n);
      items.add(new Scorer.Item(n.get("prompt"), responses));
    }
    try (Backend backend = Backends.select(device)) {
      RunSetup.applyThreads(v.getInt("threads"), backend);
      RunSetup.Loaded m = RunSetup.open(model, backend);
      float[][] rewards;
      try (var mm = m.model(); var tok = m.tokenizer()) {
        rewards = Scorer.score(new ModelAdapter(m.model()), tok, m.options(), items);
      }
      try (Writer w = output == null ? new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8))
          : Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
        for (int i = 0; i < rows.size(); i++) {
          ObjectNode o = JSON.createObjectNode();
          o.set("prompt", rows.get(i).get("prompt"));
          ArrayNode rs = o.putArray("rewards");
          int best = -1;
          for (int k = 0; k < rewards[i].length; k++) {
            float r = rewards[i][k];
            if (Float.isNaN(r)) rs.addNull();
            else rs.add(r);
            if (!Float.isNaN(r) && (best < 0 || r > rewards[i][best])) best = k;
          }
          if (bestOfN) {
            o.put("best_index", best);
            o.set("best_response", best < 0 ? null : items.get(i).responses().get(best));
          }
          w.write(JSON.writeValueAsString(o));
          w.write('\n');
        }
      }
    }
    return 0;
  }
}
