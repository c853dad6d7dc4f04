package io.rewardkit.eval;

import com.fasterxml.jackson.databind.JsonNode;
import io.rewardkit.data.BadRecordException;
import io.rewardkit.data.ChatMessage;
import io.rewardkit.data.DataOptions;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.data.Packer;
import io.rewardkit.data.ResponseEncoder;
import io.rewardkit.data.Tokenizer;
import io.rewardkit.model.TrainableModel;
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
 * <p>Each response is one sequence from {@link ResponseEncoder} (the encoding, truncation and drop
 * reasons {@code rewardkit serve} uses too), packed by {@link #scoreSequences} like the server's
 * batches; the prompt is encoded once per response, with no second (placeholder) sequence scored.
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
    ResponseEncoder encoder = new ResponseEncoder(options, tok);
    List<ResponseEncoder.Input> inputs = new ArrayList<>();
    List<int[]> owner = new ArrayList<>();
    List<String> wheres = new ArrayList<>();
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
          inputs.add(input(it.prompt(), it.responses().get(k), where));
          owner.add(new int[] {i, k});
          wheres.add(where);
        } catch (BadRecordException e) {
          row[k] = new Scored(null, e.reason(), e.getMessage());
          dropped.merge(e.reason(), 1L, Long::sum);
        }
      }
    }
    List<ResponseEncoder.Encoded> enc = encoder.encode(inputs);
    List<int[]> seqs = new ArrayList<>();
    List<int[]> seqOwner = new ArrayList<>();
    for (int j = 0; j < enc.size(); j++) {
      ResponseEncoder.Encoded e = enc.get(j);
      int[] ik = owner.get(j);
      if (!e.kept()) {
        out.get(ik[0])[ik[1]] = new Scored(null, e.dropReason(), wheres.get(j) + ": " + e.message());
        dropped.merge(e.dropReason(), 1L, Long::sum);
      } else {
        seqs.add(e.tokens());
        seqOwner.add(ik);
      }
    }
    float[] rewards = scoreSequences(model::score, seqs, encoder.readoutToken(), encoder.options().maxTokensPerBatch());
    for (int s = 0; s < seqs.size(); s++) {
      int[] ik = seqOwner.get(s);
      out.get(ik[0])[ik[1]] = new Scored(rewards[s], null, null);
    }
    List<List<Scored>> lists = new ArrayList<>(out.size());
    for (Scored[] row : out) lists.add(Collections.unmodifiableList(java.util.Arrays.asList(row)));
    return new Result(Collections.unmodifiableList(lists), responses, Collections.unmodifiableMap(dropped));
  }

  /**
   * Rewards of encoded sequences ({@link ResponseEncoder} output), in their order: bins of at most
   * {@code budget} tokens ({@link Packer#plan}), each one varlen batch ({@link Packer#sequences}) whose
   * readouts are checked before the model reads them. The server's batcher packs the same way.
   */
  public static float[] scoreSequences(java.util.function.Function<PackedBatch, float[]> forward, List<int[]> seqs,
      int readoutToken, int budget) {
    float[] rewards = new float[seqs.size()];
    int[] sizes = new int[seqs.size()];
    for (int s = 0; s < sizes.length; s++) sizes[s] = seqs.get(s).length;
    for (int[] bin : Packer.plan(sizes, budget, 0L, 0)) {
      List<int[]> part = new ArrayList<>(bin.length);
      for (int s : bin) part.add(seqs.get(s));
      float[] r = scoreBin(forward, part, readoutToken);
      for (int k = 0; k < bin.length; k++) rewards[bin[k]] = r[k];
    }
    return rewards;
  }

  /** One bin of sequences as one varlen batch (readouts checked when it is built), through the model: rewards in the bin's order. */
  public static float[] scoreBin(java.util.function.Function<PackedBatch, float[]> forward, List<int[]> bin, int readoutToken) {
    return forward.apply(Packer.sequences(bin, readoutToken));
  }

  /** One (prompt, response) of a score input line, or bad_record naming what is wrong. */
  private static ResponseEncoder.Input input(JsonNode prompt, JsonNode response, String where) {
    if (prompt == null || prompt.isNull()) throw bad(where, "missing 'prompt'");
    if (response == null || response.isNull()) throw bad(where, "the response is null");
    if (prompt.isTextual()) {
      if (!response.isTextual()) throw bad(where, "a text prompt needs text responses");
      return ResponseEncoder.Input.text(prompt.asText(), response.asText());
    }
    if (!prompt.isArray()) throw bad(where, "'prompt' must be a string or a list of messages");
    List<ChatMessage> msgs = new ArrayList<>();
    for (JsonNode m : prompt) {
      if (!m.hasNonNull("role") || !m.hasNonNull("content")) throw bad(where, "each message needs 'role' and 'content'");
      msgs.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
    }
    String text = response.isTextual() ? response.asText() : response.path("content").asText(null);
    if (text == null) throw bad(where, "a response must be a string or a message with 'content'");
    return ResponseEncoder.Input.chat(msgs, text);
  }

  private static BadRecordException bad(String where, String what) {
    return new BadRecordException("bad_record", where, what);
  }
}
