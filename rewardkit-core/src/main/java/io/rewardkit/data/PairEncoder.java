package io.rewardkit.data;

import io.rewardkit.RewardKitException;
import io.rewardkit.data.DataOptions.Truncation;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.IntStream;

/**
 * Records to {@link EncodedPair}s: chat template, tokenization, readout token, truncation.
 *
 * <p>Text records: prompt and each response are tokenized separately and concatenated, so the
 * prompt's tokens are the same for both responses by construction. Chat records: the prompt is
 * rendered with add_generation_prompt=true and each full conversation without; the prompt's tokens
 * must be a prefix of each full sequence's tokens. When they are not (a merge across the boundary),
 * the violation is counted and the response is re-tokenized on its own after the prompt.
 *
 * <p>Readout: with a reward token it is appended after every response; otherwise the EOS token is
 * the readout: a response whose tokens end in EOS gives it up (it becomes the readout), any other
 * gets EOS appended. Chat renderings that end in EOS plus whitespace (Qwen's "<|im_end|>\n") are
 * cut after the EOS first.
 */
final class PairEncoder {
  private final DataOptions o;
  private final Tokenizer tok;
  private final ChatTemplate template;
  private final int readout;
  private final boolean eosReadout;
  private final boolean lastToken; // nothing appended: the response's own last token is the readout
  private final String eosText;

  PairEncoder(DataOptions options, Tokenizer tok, ChatTemplate template) {
    this.o = options;
    this.tok = tok;
    this.template = template;
    this.lastToken = options.readsLastToken();
    if (lastToken) {
      this.readout = -1;
      this.eosReadout = false;
    } else if (options.rewardToken() != null) {
      this.readout = resolveToken(tok, options.rewardToken());
      this.eosReadout = false;
    } else {
      OptionalInt eos = tok.eosTokenId();
      if (eos.isEmpty()) {
        throw new RewardKitException("tokenizer " + tok.name() + " has no eos_token to read the reward at; pass --reward_token");
      }
      this.readout = eos.getAsInt();
      this.eosReadout = true;
    }
    this.eosText = tok.eosToken();
  }

  int readoutToken() { return readout; }

  /** Parses --reward_token: a decimal id, or a string that must be exactly one token. */
  static int resolveToken(Tokenizer tok, String spec) {
    String s = spec.trim();
    if (!s.isEmpty() && s.chars().allMatch(Character::isDigit)) {
      long id = Long.parseLong(s);
      if (id >= tok.vocabSize()) {
        throw new RewardKitException("--reward_token " + id + " is outside the vocabulary (size " + tok.vocabSize() + ")");
      }
      return (int) id;
    }
    OptionalInt id = tok.tokenId(spec);
    if (id.isEmpty()) {
      throw new RewardKitException("--reward_token '" + spec + "' is not a single token of " + tok.name()
          + " (add it as a special token, or pass an id)");
    }
    return id.getAsInt();
  }

  /** Result of one record: a pair, or the reason it was dropped (and the stats it touches). */
  record Result(EncodedPair pair, String dropReason, String dropMessage, boolean truncatedPrompt,
      boolean truncatedResponse, int boundaryViolations, BadRecordException bad) {}

  /** Encodes records in order; uses the tokenizer's batch API and renders templates in parallel. */
  List<Result> encode(List<PreferenceRecord> records) {
    int n = records.size();
    String[][] texts = new String[n][];
    BadRecordException[] bad = new BadRecordException[n];
    IntStream.range(0, n).parallel().forEach(i -> {
      try {
        texts[i] = texts(records.get(i));
      } catch (BadRecordException e) {
        bad[i] = e;
      } catch (RewardKitException e) {
        bad[i] = new BadRecordException("template_error", records.get(i).source(), e.getMessage());
      }
    });
    List<String> flat = new ArrayList<>(3 * n);
    for (int i = 0; i < n; i++) if (texts[i] != null) flat.addAll(Arrays.asList(texts[i]));
    List<int[]> ids = tok.encodeBatch(flat);
    List<Result> out = new ArrayList<>(n);
    int k = 0;
    for (int i = 0; i < n; i++) {
      if (texts[i] == null) {
        out.add(new Result(null, null, null, false, false, 0, bad[i]));
        continue;
      }
      PreferenceRecord r = records.get(i);
      int[] prompt = ids.get(k), a = ids.get(k + 1), b = ids.get(k + 2);
      k += 3;
      int violations = 0;
      int[] chosen, rejected;
      if (r.isChat()) {
        chosen = suffixAfterPrompt(prompt, a);
        if (chosen == null) { violations++; chosen = tok.encode(texts[i][1].substring(texts[i][0].length())); }
        rejected = suffixAfterPrompt(prompt, b);
        if (rejected == null) { violations++; rejected = tok.encode(texts[i][2].substring(texts[i][0].length())); }
      } else {
        chosen = a;
        rejected = b;
      }
      out.add(finish(r, prompt, chosen, rejected, violations));
    }
    return out;
  }

  /** [prompt text, chosen text, rejected text]: full conversations for chat records, responses for text. */
  private String[] texts(PreferenceRecord r) {
    if (!r.isChat()) return new String[] {r.promptText(), r.chosenText(), r.rejectedText()};
    if (template == null) {
      throw new BadRecordException("no_chat_template", r.source(),
          "chat-format record but no chat template (tokenizer has none, or --chat_template none); pass --chat_template FILE");
    }
    String prompt = template.render(r.promptMessages(), true);
    String c = eosTrim(template.render(concat(r.promptMessages(), r.chosenMessages()), false));
    String rj = eosTrim(template.render(concat(r.promptMessages(), r.rejectedMessages()), false));
    if (!c.startsWith(prompt) || !rj.startsWith(prompt)) {
      throw new BadRecordException("template_prefix_mismatch", r.source(),
          "the rendered prompt is not a prefix of the rendered conversation (template rewrites earlier turns)");
    }
    return new String[] {prompt, c, rj};
  }

  private String eosTrim(String full) {
    if (!eosReadout || eosText == null) return full;
    int end = full.length();
    while (end > 0 && Character.isWhitespace(full.charAt(end - 1))) end--;
    return full.startsWith(eosText, end - eosText.length()) ? full.substring(0, end) : full;
  }

  private static List<ChatMessage> concat(List<ChatMessage> a, List<ChatMessage> b) {
    List<ChatMessage> out = new ArrayList<>(a.size() + b.size());
    out.addAll(a);
    out.addAll(b);
    return out;
  }

  /** full[prompt.length..] if prompt is a token prefix of full, else null. */
  private static int[] suffixAfterPrompt(int[] prompt, int[] full) {
    if (full.length < prompt.length) return null;
    for (int i = 0; i < prompt.length; i++) if (full[i] != prompt[i]) return null;
    return Arrays.copyOfRange(full, prompt.length, full.length);
  }

  private Result finish(PreferenceRecord r, int[] prompt, int[] chosen, int[] rejected, int violations) {
    if (eosReadout) {
      chosen = dropTrailing(chosen, readout);
      rejected = dropTrailing(rejected, readout);
    }
    if (chosen.length == 0 || rejected.length == 0) {
      return new Result(null, null, null, false, false, violations, new BadRecordException("empty_response", r.source(),
          "a response has no tokens besides the readout token"));
    }
    if (Arrays.equals(chosen, rejected)) {
      return new Result(null, null, null, false, false, violations, new BadRecordException("identical_responses",
          r.source(), "chosen and rejected tokenize to the same tokens"));
    }
    int max = o.maxLength();
    int appended = lastToken ? 0 : 1;
    int longest = prompt.length + Math.max(chosen.length, rejected.length) + appended;
    boolean tp = false, tr = false;
    if (longest > max) {
      switch (o.truncation()) {
        case DROP -> {
          return dropped(r, violations, "too_long", "sequence of " + longest + " tokens > --max_length " + max);
        }
        case PROMPT_LEFT -> {
          int keep = max - appended - Math.max(chosen.length, rejected.length);
          if (keep < 1) {
            return dropped(r, violations, "response_too_long", "a response alone (" + Math.max(chosen.length, rejected.length)
                + " tokens + readout) leaves no room for the prompt under --max_length " + max);
          }
          prompt = Arrays.copyOfRange(prompt, prompt.length - keep, prompt.length);
          tp = true;
        }
        case RESPONSE_RIGHT -> {
          int room = max - appended - prompt.length;
          if (room < 1) {
            return dropped(r, violations, "prompt_too_long", "the prompt (" + prompt.length
                + " tokens) leaves no room for a response under --max_length " + max);
          }
          if (chosen.length > room) chosen = Arrays.copyOf(chosen, room);
          if (rejected.length > room) rejected = Arrays.copyOf(rejected, room);
          tr = true;
          if (Arrays.equals(chosen, rejected)) {
            return dropped(r, violations, "identical_after_truncation",
                "chosen and rejected are identical within the first " + room + " response tokens");
          }
        }
      }
    }
    int packed = EncodedPair.packedTokens(o.layout(), prompt.length, chosen.length, rejected.length);
    if (packed > o.maxTokensPerBatch()) {
      return dropped(r, violations, "exceeds_batch_budget", "pair needs " + packed + " tokens > --max_tokens_per_batch");
    }
    return new Result(new EncodedPair(prompt, chosen, rejected, readout, r.margin(), r.datasetId(), -1),
        null, null, tp, tr, violations, null);
  }

  private static Result dropped(PreferenceRecord r, int violations, String reason, String msg) {
    return new Result(null, reason, r.source() + ": " + reason + ": " + msg, false, false, violations, null);
  }

  private static int[] dropTrailing(int[] ids, int token) {
    return ids.length > 0 && ids[ids.length - 1] == token ? Arrays.copyOf(ids, ids.length - 1) : ids;
  }
}
