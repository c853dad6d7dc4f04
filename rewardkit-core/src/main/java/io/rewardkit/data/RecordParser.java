package io.rewardkit.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.data.DataOptions.Format;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Turns one JSON object into a {@link PreferenceRecord}, or a {@link BadRecordException} whose
 * reason is one of: missing_field, wrong_type, bad_role, empty_prompt, empty_response,
 * identical_responses, no_shared_prompt, no_assistant_turn, prompt_mismatch, unknown_rating, tied_ranks.
 * Rows come from any reader (JSONL, Parquet, Arrow) as JSON objects, so every format works from each.
 */
final class RecordParser {
  static final String HH_ASSISTANT = "\n\nAssistant:";
  private static final Set<String> ROLES = Set.of("system", "user", "assistant", "tool", "developer");
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final DataOptions o;

  RecordParser(DataOptions options) { this.o = options; }

  /** The top-level fields any format may read (columnar readers decode only these). */
  java.util.Set<String> columns() {
    java.util.Set<String> c = new java.util.HashSet<>(List.of(o.promptKey(), o.chosenKey(), o.rejectedKey(),
        "context", "completions", "completion", "label"));
    if (o.marginKey() != null) c.add(o.marginKey());
    if (o.ratingKey() != null) c.add(o.ratingKey());
    if (o.scoreKeys() != null) c.addAll(List.of(o.scoreKeyPair()));
    return c;
  }

  /** Format of a file, from its first record (AUTO resolved); an explicit format is returned as is. */
  Format detect(ObjectNode n, String where) {
    if (o.format() != Format.AUTO) return o.format();
    if (!n.has(o.chosenKey())) {
      if (n.has("completions") && n.has("context")) return Format.RANKED;
      if (n.has("completion") && n.has("label")) {
        // KTO/unpaired data rates single responses: there is no pair to rank, so nothing to train on.
        throw new io.rewardkit.RewardKitException(where + ": this is unpaired (KTO-style) data: each row has one '"
            + "completion' with a desirable/undesirable 'label', not a chosen and a rejected response to the same prompt. "
            + "A reward model trains on pairs: pair a desirable and an undesirable completion of the same prompt "
            + "into {prompt, chosen, rejected} rows first");
      }
    }
    JsonNode chosen = require(n, o.chosenKey(), where);
    boolean hasPrompt = n.hasNonNull(o.promptKey());
    if (chosen.isTextual()) return hasPrompt ? Format.TEXT : Format.HH_RLHF;
    // A chosen list that starts with the user's turn is a whole conversation even when a prompt
    // column repeats its first message (UltraFeedback-binarized, Tulu 3 preference mixtures).
    if (chosen.isArray()) return hasPrompt && !startsConversation(chosen) ? Format.MESSAGES : Format.CONVERSATION;
    throw wrongType(o.chosenKey(), chosen, "a string or a list of messages", where);
  }

  private static boolean startsConversation(JsonNode list) {
    if (list.isEmpty() || !list.get(0).isObject()) return false;
    String role = list.get(0).path("role").asText("");
    return role.equals("user") || role.equals("system") || role.equals("developer");
  }

  PreferenceRecord parse(ObjectNode n, Format f, int datasetId, String where) {
    float margin = margin(n, where);
    PreferenceRecord r = switch (f) {
      case HH_RLHF -> hh(n, margin, where);
      case TEXT -> text(n, margin, where);
      case MESSAGES -> messages(n, margin, where);
      case CONVERSATION -> conversation(n, margin, where);
      case RANKED -> ranked(n, margin, where);
      case AUTO -> throw new IllegalStateException("format not resolved");
    };
    return r.withDatasetId(datasetId);
  }

  private PreferenceRecord hh(ObjectNode n, float margin, String where) {
    String chosen = string(n, o.chosenKey(), where);
    String rejected = string(n, o.rejectedKey(), where);
    if (chosen.equals(rejected)) throw new BadRecordException("identical_responses", where, "chosen and rejected are the same text");
    int common = 0;
    int max = Math.min(chosen.length(), rejected.length());
    while (common < max && chosen.charAt(common) == rejected.charAt(common)) common++;
    int cut = chosen.lastIndexOf(HH_ASSISTANT, common - HH_ASSISTANT.length());
    if (cut < 0 || common < HH_ASSISTANT.length()) {
      throw new BadRecordException("no_shared_prompt", where,
          "chosen and rejected share no prefix ending in \"\\n\\nAssistant:\" (hh-rlhf format)");
    }
    int end = cut + HH_ASSISTANT.length();
    String prompt = chosen.substring(0, end);
    String c = chosen.substring(end);
    String r = rejected.substring(end);
    checkResponses(c, r, where);
    return PreferenceRecord.text(prompt, c, r, margin, where);
  }

  private PreferenceRecord text(ObjectNode n, float margin, String where) {
    String prompt = string(n, o.promptKey(), where);
    String c = string(n, o.chosenKey(), where);
    String r = string(n, o.rejectedKey(), where);
    checkResponses(c, r, where);
    return PreferenceRecord.text(prompt, c, r, margin, where);
  }

  private PreferenceRecord messages(ObjectNode n, float margin, String where) {
    JsonNode p = require(n, o.promptKey(), where);
    List<ChatMessage> prompt;
    if (p.isTextual()) prompt = List.of(ChatMessage.user(p.asText()));
    else if (p.isArray()) prompt = messageList(p, o.promptKey(), where);
    else throw wrongType(o.promptKey(), p, "a string or a list of messages", where);
    if (prompt.isEmpty()) throw new BadRecordException("empty_prompt", where, "field '" + o.promptKey() + "' has no messages");
    List<ChatMessage> c = response(n, o.chosenKey(), where);
    List<ChatMessage> r = response(n, o.rejectedKey(), where);
    checkResponses(joined(c), joined(r), where);
    if (c.equals(r)) throw new BadRecordException("identical_responses", where, "chosen and rejected messages are the same");
    return PreferenceRecord.chat(prompt, c, r, margin, where);
  }

  private List<ChatMessage> response(ObjectNode n, String key, String where) {
    JsonNode v = require(n, key, where);
    List<ChatMessage> msgs;
    if (v.isTextual()) msgs = List.of(ChatMessage.assistant(v.asText()));
    else if (v.isArray()) msgs = messageList(v, key, where);
    else throw wrongType(key, v, "a string or a list of messages", where);
    if (msgs.isEmpty()) throw new BadRecordException("empty_response", where, "field '" + key + "' has no messages");
    if (!msgs.get(msgs.size() - 1).role().equals("assistant")) {
      throw new BadRecordException("no_assistant_turn", where, "field '" + key + "' does not end with an assistant message");
    }
    return msgs;
  }

  private PreferenceRecord conversation(ObjectNode n, float margin, String where) {
    List<ChatMessage> c = conversationList(n, o.chosenKey(), where);
    List<ChatMessage> r = conversationList(n, o.rejectedKey(), where);
    List<ChatMessage> pc = c.subList(0, c.size() - 1);
    List<ChatMessage> pr = r.subList(0, r.size() - 1);
    if (!pc.equals(pr)) {
      throw new BadRecordException("prompt_mismatch", where, "the turns before the last assistant message differ between '"
          + o.chosenKey() + "' and '" + o.rejectedKey() + "'");
    }
    if (pc.isEmpty()) throw new BadRecordException("empty_prompt", where, "no turns before the last assistant message");
    List<ChatMessage> cr = List.of(c.get(c.size() - 1));
    List<ChatMessage> rr = List.of(r.get(r.size() - 1));
    checkResponses(joined(cr), joined(rr), where);
    return PreferenceRecord.chat(pc, cr, rr, margin, where);
  }

  /**
   * NeMo's rank format: {"context": str or [messages], "completions": [{"rank": 0, "completion":
   * str or [messages]}, ...]}; rank 0 is best. Chosen is the best-ranked completion, rejected the
   * next rank (two completions is the usual case; more give the top pair).
   */
  private PreferenceRecord ranked(ObjectNode n, float margin, String where) {
    JsonNode ctx = require(n, "context", where);
    List<ChatMessage> prompt;
    if (ctx.isTextual()) prompt = List.of(ChatMessage.user(ctx.asText()));
    else if (ctx.isArray()) prompt = messageList(ctx, "context", where);
    else throw wrongType("context", ctx, "a string or a list of messages", where);
    if (prompt.isEmpty()) throw new BadRecordException("empty_prompt", where, "field 'context' has no messages");
    JsonNode comps = require(n, "completions", where);
    if (!comps.isArray()) throw wrongType("completions", comps, "a list of {rank, completion}", where);
    if (comps.size() < 2) throw new BadRecordException("missing_field", where, "field 'completions' has " + comps.size() + " entries, a pair needs 2");
    int best = -1, second = -1;
    long bestRank = Long.MAX_VALUE, secondRank = Long.MAX_VALUE;
    for (int i = 0; i < comps.size(); i++) {
      JsonNode c = comps.get(i);
      String f = "completions[" + i + "]";
      if (!c.isObject()) throw wrongType(f, c, "an object {rank, completion}", where);
      JsonNode r = c.get("rank");
      if (r == null || r.isNull()) throw new BadRecordException("missing_field", where, "field '" + f + ".rank' is missing");
      if (!r.canConvertToLong()) throw wrongType(f + ".rank", r, "an integer", where);
      long rank = r.asLong();
      if (rank < bestRank) { second = best; secondRank = bestRank; best = i; bestRank = rank; }
      else if (rank < secondRank) { second = i; secondRank = rank; }
    }
    if (bestRank == secondRank) {
      throw new BadRecordException("tied_ranks", where, "the two best completions share rank " + bestRank + ": no preference");
    }
    List<ChatMessage> c = completion(comps.get(best), "completions[" + best + "].completion", where);
    List<ChatMessage> r = completion(comps.get(second), "completions[" + second + "].completion", where);
    checkResponses(joined(c), joined(r), where);
    return PreferenceRecord.chat(prompt, c, r, margin, where);
  }

  private List<ChatMessage> completion(JsonNode entry, String field, String where) {
    JsonNode v = entry.get("completion");
    if (v == null || v.isNull()) throw new BadRecordException("missing_field", where, "field '" + field + "' is missing");
    List<ChatMessage> msgs;
    if (v.isTextual()) msgs = List.of(ChatMessage.assistant(v.asText()));
    else if (v.isArray()) msgs = messageList(v, field, where);
    else throw wrongType(field, v, "a string or a list of messages", where);
    if (msgs.isEmpty() || !msgs.get(msgs.size() - 1).role().equals("assistant")) {
      throw new BadRecordException("no_assistant_turn", where, "field '" + field + "' does not end with an assistant message");
    }
    return msgs;
  }

  private List<ChatMessage> conversationList(ObjectNode n, String key, String where) {
    JsonNode v = require(n, key, where);
    if (!v.isArray()) throw wrongType(key, v, "a list of messages (conversation format)", where);
    List<ChatMessage> msgs = messageList(v, key, where);
    if (msgs.isEmpty() || !msgs.get(msgs.size() - 1).role().equals("assistant")) {
      throw new BadRecordException("no_assistant_turn", where, "field '" + key + "' does not end with an assistant message");
    }
    return msgs;
  }

  private static List<ChatMessage> messageList(JsonNode arr, String key, String where) {
    List<ChatMessage> out = new ArrayList<>(arr.size());
    for (int i = 0; i < arr.size(); i++) {
      JsonNode m = arr.get(i);
      String field = key + "[" + i + "]";
      if (!m.isObject()) throw wrongType(field, m, "a message object", where);
      JsonNode role = m.get("role");
      if (role == null || role.isNull()) throw new BadRecordException("missing_field", where, "field '" + field + ".role' is missing");
      if (!role.isTextual()) throw wrongType(field + ".role", role, "a string", where);
      String r = role.asText();
      if (!ROLES.contains(r)) {
        throw new BadRecordException("bad_role", where, "field '" + field + ".role' is '" + r + "' (expected one of " + ROLES + ")");
      }
      JsonNode content = m.get("content");
      if (content == null || content.isNull()) throw new BadRecordException("missing_field", where, "field '" + field + ".content' is missing");
      String text;
      if (content.isTextual()) {
        text = content.asText();
      } else if (content.isArray()) {
        // OpenAI content parts: only text parts carry meaning for a text reward model.
        StringBuilder sb = new StringBuilder();
        for (JsonNode part : content) {
          if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
            throw wrongType(field + ".content", part, "text content parts {\"type\":\"text\",\"text\":...}", where);
          }
          sb.append(part.get("text").asText());
        }
        text = sb.toString();
      } else {
        throw wrongType(field + ".content", content, "a string", where);
      }
      Map<String, Object> extra = new LinkedHashMap<>();
      var it = m.fields();
      while (it.hasNext()) {
        var e = it.next();
        if (e.getKey().equals("role") || e.getKey().equals("content") || e.getValue().isNull()) continue;
        extra.put(e.getKey(), MAPPER.convertValue(e.getValue(), Object.class));
      }
      out.add(new ChatMessage(r, text, extra));
    }
    return out;
  }

  private float margin(ObjectNode n, String where) {
    float margin = 0f;
    if (o.scoreKeys() != null) {
      String[] k = o.scoreKeyPair();
      double c = score(n, k[0], where), r = score(n, k[1], where);
      margin = (float) (c - r);
      if (!Float.isFinite(margin)) throw wrongType(k[0], n.get(k[0]), "a finite number", where);
      return margin;
    }
    if (o.marginKey() != null && n.hasNonNull(o.marginKey())) {
      JsonNode m = n.get(o.marginKey());
      if (!m.isNumber()) throw wrongType(o.marginKey(), m, "a number", where);
      margin = (float) m.asDouble();
      if (!Float.isFinite(margin)) throw wrongType(o.marginKey(), m, "a finite number", where);
    }
    if (o.ratingKey() != null) {
      JsonNode r = require(n, o.ratingKey(), where);
      if (!r.isTextual()) throw wrongType(o.ratingKey(), r, "a string rating", where);
      Float m = o.ratingMargins().get(r.asText().trim().toLowerCase(Locale.ROOT));
      if (m == null) {
        throw new BadRecordException("unknown_rating", where, "rating '" + r.asText() + "' is not in --rating_margins "
            + o.ratingMargins().keySet());
      }
      margin = m;
    }
    return margin;
  }

  private static double score(ObjectNode n, String key, String where) {
    JsonNode v = require(n, key, where);
    if (!v.isNumber()) throw wrongType(key, v, "a number (--score_keys)", where);
    return v.asDouble();
  }

  private static void checkResponses(String c, String r, String where) {
    if (c.isBlank()) throw new BadRecordException("empty_response", where, "the chosen response is empty or whitespace");
    if (r.isBlank()) throw new BadRecordException("empty_response", where, "the rejected response is empty or whitespace");
    if (c.equals(r)) throw new BadRecordException("identical_responses", where, "chosen and rejected responses are the same");
  }

  private static String joined(List<ChatMessage> msgs) {
    StringBuilder sb = new StringBuilder();
    for (ChatMessage m : msgs) sb.append(m.content());
    return sb.toString();
  }

  private static JsonNode require(ObjectNode n, String key, String where) {
    JsonNode v = n.get(key);
    if (v == null || v.isNull()) {
      throw new BadRecordException("missing_field", where, "field '" + key + "' is missing (fields: " + fieldNames(n) + ")");
    }
    return v;
  }

  private static String string(ObjectNode n, String key, String where) {
    JsonNode v = require(n, key, where);
    if (!v.isTextual()) throw wrongType(key, v, "a string", where);
    return v.asText();
  }

  private static String fieldNames(ObjectNode n) {
    List<String> names = new ArrayList<>();
    n.fieldNames().forEachRemaining(names::add);
    return names.toString();
  }

  private static BadRecordException wrongType(String field, JsonNode v, String expected, String where) {
    String kind = v.isArray() ? "a list" : v.isObject() ? "an object" : v.isTextual() ? "a string"
        : v.isNumber() ? "a number" : v.isBoolean() ? "a boolean" : "null";
    return new BadRecordException("wrong_type", where, "field '" + field + "' is " + kind + ", expected " + expected);
  }
}
