package io.rewardkit.eval;

import com.fasterxml.jackson.databind.JsonNode;
import io.rewardkit.data.BadRecordException;
import io.rewardkit.data.ChatMessage;
import io.rewardkit.data.DataOptions;
import io.rewardkit.data.EncodedDataset;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.data.PreferenceRecord;
import io.rewardkit.data.Tokenizer;
import io.rewardkit.train.TrainableModel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Scores responses to prompts with a reward model, encoding each (prompt, response) exactly as
 * training did (same tokenizer, chat template, truncation and readout token). This is the one
 * scoring path: {@code rewardkit score} and any server call it.
 *
 * <p>Every response gets a {@link Scored} in its own slot (item i, response k), whatever else was
 * dropped: the encoded pairs carry their record index, never their position among kept pairs.
 *
 * <p>The data pipeline encodes pairs, so each response is encoded as the chosen side of a pair
 * whose rejected side is a one-character placeholder; in the separate layout the two sequences do
 * not see each other, and only the response's own reward is read.
 */
public final class Scorer {
  private Scorer() {}

  /** One prompt (text, or a list of chat messages) with its candidate responses; source names it in messages (file:line). */
  public record Item(String source, JsonNode prompt, List<JsonNode> responses) {
    public Item(JsonNode prompt, List<JsonNode> responses) { this(null, prompt, responses); }
  }

  /**
   * A response's outcome: {@code reward}, or null with the {@code reason} it was not scored
   * ({@code too_long}, {@code empty_response}, {@code bad_record}, ...) and a one-line {@code message}.
   */
  public record Scored(Float reward, String reason, String message) {
    public boolean isScored() { return reward != null; }
  }

  /** Results per item and response, and how many responses were dropped by reason. */
  public record Result(List<List<Scored>> scored, long responses, Map<String, Long> dropped) {
    /** rewards[i][k], NaN where not scored. */
    public float[][] rewards() {
      float[][] out = new float[scored.size()][];
      for (int i = 0; i < out.length; i++) {
        out[i] = new float[scored.get(i).size()];
        for (int k = 0; k < out[i].length; k++) {
          Scored s = scored.get(i).get(k);
          out[i][k] = s.isScored() ? s.reward() : Float.NaN;
        }
      }
      return out;
    }

    /** The first message seen for each drop reason. */
    public Map<String, String> firstMessages() {
      Map<String, String> m = new TreeMap<>();
      for (List<Scored> row : scored) for (Scored s : row) if (!s.isScored()) m.putIfAbsent(s.reason(), s.message());
      return m;
    }

    public long droppedTotal() { return dropped.values().stream().mapToLong(Long::longValue).sum(); }
    public long scoredCount() { return responses - droppedTotal(); }

    /** Index of the highest-reward response of item i, or -1 when none was scored. */
    public int best(int i) {
      List<Scored> s = scored.get(i);
      int best = -1;
      for (int k = 0; k < s.size(); k++) {
        if (s.get(k).isScored() && (best < 0 || s.get(k).reward() > s.get(best).reward())) best = k;
      }
      return best;
    }

    /** "8 responses read, 7 scored, 1 dropped (too_long 1)". */
    public String summary() {
      StringBuilder sb = new StringBuilder(responses + " responses read, " + scoredCount() + " scored, " + droppedTotal() + " dropped");
      if (!dropped.isEmpty()) {
        List<String> parts = new ArrayList<>();
        dropped.forEach((k, v) -> parts.add(k + " " + v));
        sb.append(" (").append(String.join(", ", parts)).append(')');
      }
      return sb.toString();
    }
  }

  /** rewards[i][k] for item i, response k; NaN where a response was not scored (see {@link #scoreAll} for why). */
  public static float[][] score(TrainableModel model, Tokenizer tok, DataOptions options, List<Item> items) {
    return scoreAll(model, tok, options, items).rewards();
  }

  public static Result scoreAll(TrainableModel model, Tokenizer tok, DataOptions options, List<Item> items) {
    DataOptions o = options.withLayout(DataOptions.Layout.SEPARATE).withOnBadRecord(DataOptions.OnBadRecord.SKIP);
    List<PreferenceRecord> records = new ArrayList<>();
    List<int[]> owner = new ArrayList<>();
    List<Scored[]> out = new ArrayList<>();
    Map<String, Long> dropped = new TreeMap<>();
    long responses = 0;
    for (int i = 0; i < items.size(); i++) {
      Item it = items.get(i);
      Scored[] row = new Scored[it.responses().size()];
      out.add(row);
      for (int k = 0; k < row.length; k++) {
        responses++;
        String where = (it.source() == null ? "item " + (i + 1) : it.source()) + " response " + (k + 1);
        try {
          records.add(record(it.prompt(), it.responses().get(k), where));
          owner.add(new int[] {i, k});
        } catch (BadRecordException e) {
          row[k] = new Scored(null, e.reason(), e.getMessage());
          dropped.merge(e.reason(), 1L, Long::sum);
        }
      }
    }
    if (!records.isEmpty()) {
      EncodedDataset ds = EncodedDataset.fromRecords(records, tok, o, (index, reason, message) -> {
        int[] ik = owner.get((int) index);
        out.get(ik[0])[ik[1]] = new Scored(null, reason, message);
        dropped.merge(reason, 1L, Long::sum);
      });
      for (PackedBatch b : ds.batches(0)) {
        if (b.numPairs() == 0) continue;
        ReadoutCheck.check(b);
        float[] r = model.score(b);
        for (int p = 0; p < b.numPairs(); p++) {
          int[] ik = owner.get((int) b.pairIds()[p]);
          out.get(ik[0])[ik[1]] = new Scored(r[b.chosen()[p]], null, null);
        }
      }
    }
    List<List<Scored>> lists = new ArrayList<>(out.size());
    for (Scored[] row : out) lists.add(Collections.unmodifiableList(java.util.Arrays.asList(row)));
    return new Result(Collections.unmodifiableList(lists), responses, Collections.unmodifiableMap(dropped));
  }

  private static PreferenceRecord record(JsonNode prompt, JsonNode response, String where) {
    if (prompt == null || prompt.isNull()) throw bad(where, "missing 'prompt'");
    if (response == null || response.isNull()) throw bad(where, "the response is null");
    if (prompt.isTextual()) {
      if (!response.isTextual()) throw bad(where, "a text prompt needs text responses");
      String r = response.asText();
      return PreferenceRecord.text(prompt.asText(), r, placeholder(r), 0f, where);
    }
    if (!prompt.isArray()) throw bad(where, "'prompt' must be a string or a list of messages");
    List<ChatMessage> msgs = new ArrayList<>();
    for (JsonNode m : prompt) {
      if (!m.hasNonNull("role") || !m.hasNonNull("content")) throw bad(where, "each message needs 'role' and 'content'");
      msgs.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
    }
    String text = response.isTextual() ? response.asText() : response.path("content").asText(null);
    if (text == null) throw bad(where, "a response must be a string or a message with 'content'");
    return PreferenceRecord.chat(msgs, List.of(ChatMessage.assistant(text)), List.of(ChatMessage.assistant(placeholder(text))), 0f, where);
  }

  private static BadRecordException bad(String where, String what) {
    return new BadRecordException("bad_record", where, what);
  }

  private static String placeholder(String response) {
    return response.equals("-") ? "+" : "-";
  }
}
