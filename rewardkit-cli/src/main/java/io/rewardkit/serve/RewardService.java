package io.rewardkit.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.data.ChatMessage;
import io.rewardkit.data.ResponseEncoder;
import io.rewardkit.data.ResponseEncoder.Encoded;
import io.rewardkit.data.ResponseEncoder.Input;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * The two scoring protocols, independent of HTTP: validates a JSON request (400/413 naming the
 * field), encodes its texts as training does ({@link ResponseEncoder}) and says how to turn the
 * batcher's rewards back into the JSON answer.
 *
 * <ul>
 *   <li>{@code /get_reward} (OpenRLHF): {@code {"query": [full text, ...]}} (v1) or with
 *       {@code "prompts"} and {@code "labels"} (v2). A query is scored as
 *       {@code {"prompt": "", "response": query}} would be by {@code rewardkit score}; when
 *       {@code prompts[i]} is given and is a prefix of {@code query[i]}, as
 *       {@code {"prompt": prompts[i], "response": the rest}} (prompt and response tokenized apart, as
 *       training tokenized text pairs; it also lets --truncation prompt_left cut the prompt); an
 *       empty or whitespace-only response there (the query is its prompt) is scored as the whole query.
 *       For an HF model without rewardkit.json nothing is appended: the query's last token is read. Labels are
 *       accepted and ignored. A text the truncation policy drops is refused with 422 naming it: an
 *       RL loop needs a number for every query.
 *   <li>{@code /score} (RewardKit): {@code {"prompt": text or messages, "responses": [...]}} (or
 *       {@code "response"}), the input line of {@code rewardkit score}; a dropped response gets
 *       reward null, its reason in a parallel "reasons" list (as score's output) and details under
 *       "dropped"; best_index skips it.
 * </ul>
 * Both say which texts --truncation cut ({@code "truncated"}: indices).
 */
public final class RewardService {
  static final ObjectMapper JSON = new ObjectMapper();
  /** Reasons that concern the prompt (all responses of the request), not one response. */
  private static final Set<String> PROMPT_REASONS = Set.of("no_chat_template", "template_error", "template_prefix_mismatch");

  private final ResponseEncoder encoder;
  private final ServeConfig cfg;
  private final ServeMetrics metrics;

  public RewardService(ResponseEncoder encoder, ServeConfig cfg, ServeMetrics metrics) {
    this.encoder = encoder;
    this.cfg = cfg;
    this.metrics = metrics;
  }

  /** Sequences to score and how to answer once their rewards (in the same order) are known. */
  public record Prepared(List<int[]> sequences, Function<float[], ObjectNode> answer) {}

  public Prepared getReward(JsonNode body) {
    requireObject(body);
    List<String> queries = strings(body, "query", true);
    int n = queries.size();
    List<String> prompts = null;
    JsonNode p = body.get("prompts");
    if (p != null && !p.isNull()) {
      if (!p.isArray()) throw bad("prompts", "must be a list of strings (or null)");
      if (p.size() != n) throw bad("prompts", "has " + p.size() + " items but query has " + n);
      prompts = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        JsonNode e = p.get(i);
        if (!e.isNull() && !e.isTextual()) throw bad("prompts[" + i + "]", "must be a string or null");
        prompts.add(e.isNull() ? null : checkLength("prompts[" + i + "]", e.asText()));
      }
    }
    JsonNode labels = body.get("labels");
    if (labels != null && !labels.isNull() && !(labels.isArray() && labels.size() == n)) {
      throw bad("labels", "must be a list with one item per query (or null)");
    }
    boolean v2 = body.has("prompts") || body.has("labels");
    List<Input> inputs = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      String q = queries.get(i);
      String pr = prompts == null ? null : prompts.get(i);
      if (pr != null && !pr.isEmpty() && q.startsWith(pr)) inputs.add(Input.text(pr, q.substring(pr.length())));
      else inputs.add(Input.text("", q));
    }
    List<Encoded> enc = new ArrayList<>(encoder.encode(inputs));
    // An empty generation (the query is just its prompt, perhaps plus EOS) is still a sample the RL
    // loop needs a reward for: score the whole query then, reading the reward right after the prompt.
    for (int i = 0; i < n; i++) {
      if ("empty_response".equals(enc.get(i).dropReason()) && !inputs.get(i).promptText().isEmpty()) {
        enc.set(i, encoder.encode(List.of(Input.text("", queries.get(i)))).get(0));
      }
    }
    List<int[]> seqs = new ArrayList<>(n);
    boolean[] cut = new boolean[n];
    for (int i = 0; i < n; i++) {
      Encoded e = enc.get(i);
      if (!e.kept()) {
        metrics.dropped.labelValues(e.dropReason()).inc();
        throw new ApiException(422, e.dropReason(), "query[" + i + "]", "query[" + i + "]: " + e.message() + policy(e));
      }
      cut[i] = e.truncated();
      if (cut[i]) metrics.truncated.inc();
      seqs.add(e.tokens());
    }
    return new Prepared(seqs, rewards -> {
      ObjectNode o = JSON.createObjectNode();
      ArrayNode r = o.putArray("rewards");
      for (float v : rewards) r.add(v);
      if (v2) {
        o.set("scores", r.deepCopy());
        ArrayNode t = o.putObject("extra_logs").putArray("truncated");
        for (int i = 0; i < n; i++) t.add(cut[i] ? 1.0 : 0.0);
      }
      ArrayNode t = o.putArray("truncated");
      for (int i = 0; i < n; i++) if (cut[i]) t.add(i);
      return o;
    });
  }

  public Prepared score(JsonNode body) {
    requireObject(body);
    JsonNode prompt = body.get("prompt");
    if (prompt == null || prompt.isNull()) throw bad("prompt", "is required (a string or a list of chat messages)");
    List<ChatMessage> messages = null;
    String promptText = null;
    if (prompt.isTextual()) {
      promptText = checkLength("prompt", prompt.asText());
    } else if (prompt.isArray()) {
      messages = new ArrayList<>();
      for (int i = 0; i < prompt.size(); i++) {
        JsonNode m = prompt.get(i);
        String at = "prompt[" + i + "]";
        if (!m.isObject()) throw bad(at, "must be a message object with 'role' and 'content'");
        if (!m.path("role").isTextual()) throw bad(at + ".role", "must be a string");
        if (!m.path("content").isTextual()) throw bad(at + ".content", "must be a string");
        messages.add(new ChatMessage(m.get("role").asText(), checkLength(at + ".content", m.get("content").asText())));
      }
      if (messages.size() > cfg.maxTexts()) throw tooLarge("prompt", "has " + messages.size() + " messages, more than --max_texts " + cfg.maxTexts());
    } else {
      throw bad("prompt", "must be a string or a list of chat messages");
    }
    String key;
    List<JsonNode> raw = new ArrayList<>();
    if (body.has("responses")) {
      key = "responses";
      JsonNode rs = body.get("responses");
      if (!rs.isArray()) throw bad("responses", "must be a list");
      rs.forEach(raw::add);
    } else if (body.has("response")) {
      key = "response";
      raw.add(body.get("response"));
    } else {
      throw bad("responses", "is required (a list of responses; or 'response' for one)");
    }
    if (raw.size() > cfg.maxTexts()) throw tooLarge(key, "has " + raw.size() + " items, more than --max_texts " + cfg.maxTexts());
    List<Input> inputs = new ArrayList<>(raw.size());
    for (int k = 0; k < raw.size(); k++) {
      JsonNode r = raw.get(k);
      String at = key.equals("response") ? key : key + "[" + k + "]";
      String text;
      if (r.isTextual()) text = r.asText();
      else if (messages != null && r.isObject() && r.path("content").isTextual()) text = r.get("content").asText();
      else throw bad(at, messages != null ? "must be a string or a message with string 'content'" : "must be a string");
      checkLength(at, text);
      inputs.add(messages == null ? Input.text(promptText, text) : Input.chat(messages, text));
    }
    List<Encoded> enc = encoder.encode(inputs);
    List<int[]> seqs = new ArrayList<>();
    int n = raw.size();
    int[] slot = new int[n];
    for (int k = 0; k < n; k++) {
      Encoded e = enc.get(k);
      if (!e.kept() && PROMPT_REASONS.contains(e.dropReason())) {
        throw new ApiException(422, e.dropReason(), "prompt", "prompt: " + e.message());
      }
      if (!e.kept()) {
        metrics.dropped.labelValues(e.dropReason()).inc();
        slot[k] = -1;
        continue;
      }
      if (e.truncated()) metrics.truncated.inc();
      slot[k] = seqs.size();
      seqs.add(e.tokens());
    }
    String keyName = key;
    return new Prepared(seqs, rewards -> {
      ObjectNode o = JSON.createObjectNode();
      ArrayNode r = o.putArray("rewards");
      int best = -1;
      for (int k = 0; k < n; k++) {
        if (slot[k] < 0) {
          r.addNull();
          continue;
        }
        float v = rewards[slot[k]];
        r.add(v);
        if (best < 0 || v > rewards[slot[best]]) best = k;
      }
      if (best < 0) o.putNull("best_index");
      else o.put("best_index", best);
      boolean anyDropped = false;
      for (int k = 0; k < n; k++) anyDropped |= slot[k] < 0;
      if (anyDropped) {
        // as in `rewardkit score` output: parallel to "rewards", why each null is null
        ArrayNode why = o.putArray("reasons");
        for (int k = 0; k < n; k++) {
          if (slot[k] < 0) why.add(enc.get(k).dropReason());
          else why.addNull();
        }
      }
      ArrayNode t = o.putArray("truncated");
      for (int k = 0; k < n; k++) if (enc.get(k).kept() && enc.get(k).truncated()) t.add(k);
      ArrayNode d = o.putArray("dropped");
      for (int k = 0; k < n; k++) {
        Encoded e = enc.get(k);
        if (e.kept()) continue;
        ObjectNode x = d.addObject();
        x.put("index", k);
        x.put("field", keyName.equals("response") ? keyName : keyName + "[" + k + "]");
        x.put("reason", e.dropReason());
        x.put("message", e.message() + policy(e));
      }
      return o;
    });
  }

  /** For a length drop, which --truncation policy made it (empty or template problems have nothing to do with it). */
  private String policy(Encoded e) {
    return e.dropReason().contains("too_long")
        ? " (the server's --truncation is " + encoder.options().truncation().name().toLowerCase(java.util.Locale.ROOT) + ")"
        : "";
  }

  private static void requireObject(JsonNode body) {
    if (body == null || !body.isObject()) throw new ApiException(400, "bad_request", null, "the request body must be a JSON object");
  }

  /** A required list of strings, checked against --max_texts and --max_text_chars. */
  private List<String> strings(JsonNode body, String field, boolean required) {
    JsonNode a = body.get(field);
    if (a == null || a.isNull()) {
      if (required) throw bad(field, "is required (a list of strings)");
      return List.of();
    }
    if (!a.isArray()) throw bad(field, "must be a list of strings");
    if (a.size() > cfg.maxTexts()) throw tooLarge(field, "has " + a.size() + " items, more than --max_texts " + cfg.maxTexts());
    List<String> out = new ArrayList<>(a.size());
    for (int i = 0; i < a.size(); i++) {
      JsonNode e = a.get(i);
      if (!e.isTextual()) throw bad(field + "[" + i + "]", "must be a string");
      out.add(checkLength(field + "[" + i + "]", e.asText()));
    }
    return out;
  }

  private String checkLength(String field, String text) {
    if (text.length() > cfg.maxTextChars()) {
      throw tooLarge(field, "has " + text.length() + " characters, more than --max_text_chars " + cfg.maxTextChars());
    }
    return text;
  }

  static ApiException bad(String field, String what) {
    return new ApiException(400, "bad_request", field, field + ": " + what);
  }

  static ApiException tooLarge(String field, String what) {
    return new ApiException(413, "too_large", field, field + ": " + what);
  }
}
