package io.rewardkit.eval;

import com.fasterxml.jackson.databind.JsonNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.ChatMessage;
import io.rewardkit.data.DataOptions;
import io.rewardkit.data.EncodedDataset;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.data.PreferenceRecord;
import io.rewardkit.data.Tokenizer;
import io.rewardkit.train.TrainableModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Scores responses to prompts with a reward model, encoding each (prompt, response) exactly as
 * training did (same tokenizer, chat template, truncation and readout token).
 *
 * <p>The data pipeline encodes pairs, so each response is encoded as the chosen side of a pair
 * whose rejected side is a one-character placeholder; in the separate layout the two sequences do
 * not see each other, and only the response's own reward is read.
 */
public final class Scorer {
  private Scorer() {}

  /** One prompt (text, or a list of chat messages) with its candidate responses. */
  public record Item(JsonNode prompt, List<JsonNode> responses) {}

  /** rewards[i][k] for item i, response k; NaN where a response could not be encoded (e.g. too long). */
  public static float[][] score(TrainableModel model, Tokenizer tok, DataOptions options, List<Item> items) {
    DataOptions o = options.withLayout(DataOptions.Layout.SEPARATE).withOnBadRecord(DataOptions.OnBadRecord.SKIP);
    List<PreferenceRecord> records = new ArrayList<>();
    List<int[]> owner = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      Item it = items.get(i);
      for (int k = 0; k < it.responses().size(); k++) {
        records.add(record(it.prompt(), it.responses().get(k), "input item " + (i + 1) + ", response " + (k + 1)));
        owner.add(new int[] {i, k});
      }
    }
    float[][] out = new float[items.size()][];
    for (int i = 0; i < items.size(); i++) {
      out[i] = new float[items.get(i).responses().size()];
      Arrays.fill(out[i], Float.NaN);
    }
    if (records.isEmpty()) return out;
    EncodedDataset ds = EncodedDataset.fromRecords(records, tok, o);
    for (PackedBatch b : ds.batches(0)) {
      float[] r = model.score(b);
      for (int p = 0; p < b.numPairs(); p++) {
        int[] ik = owner.get((int) b.pairIds()[p]);
        out[ik[0]][ik[1]] = r[b.chosen()[p]];
      }
    }
    return out;
  }

  private static PreferenceRecord record(JsonNode prompt, JsonNode response, String where) {
    if (prompt == null || prompt.isNull()) throw new RewardKitException(where + ": missing 'prompt'");
    if (prompt.isTextual()) {
      if (!response.isTextual()) throw new RewardKitException(where + ": a text prompt needs text responses");
      String r = response.asText();
      return PreferenceRecord.text(prompt.asText(), r, placeholder(r), 0f, where);
    }
    if (!prompt.isArray()) throw new RewardKitException(where + ": 'prompt' must be a string or a list of messages");
    List<ChatMessage> msgs = new ArrayList<>();
    for (JsonNode m : prompt) {
      if (!m.hasNonNull("role") || !m.hasNonNull("content")) throw new RewardKitException(where + ": each message needs 'role' and 'content'");
      msgs.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
    }
    String text = response.isTextual() ? response.asText() : response.path("content").asText(null);
    if (text == null) throw new RewardKitException(where + ": a response must be a string or a message with 'content'");
    return PreferenceRecord.chat(msgs, List.of(ChatMessage.assistant(text)), List.of(ChatMessage.assistant(placeholder(text))), 0f, where);
  }

  private static String placeholder(String response) {
    return response.equals("-") ? "+" : "-";
  }
}
