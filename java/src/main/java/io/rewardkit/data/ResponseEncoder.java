package io.rewardkit.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Single responses encoded exactly as training encodes them: one scored sequence
 * {@code prompt ++ response ++ [readout]} per (prompt, response), with the same tokenizer, chat
 * template, readout rule and truncation as {@link PairEncoder}, and one result per input in input
 * order (a dropped response keeps its place, with the reason).
 *
 * <p>It goes through {@link PairEncoder} itself, with the response as the chosen side of a pair whose
 * rejected side is a one-character placeholder that is then discarded, so there is one encoding rule.
 * The options' batch budget and layout do not apply here: callers pack the sequences themselves
 * ({@link Packer#sequences}).
 */
public final class ResponseEncoder {
  private final PairEncoder encoder;
  private final DataOptions options;

  public ResponseEncoder(DataOptions options, Tokenizer tok) {
    // The pair check "fits one batch" is the caller's business for single sequences.
    this.options = options.withLayout(DataOptions.Layout.SEPARATE)
        .withMaxTokensPerBatch(Math.max(options.maxTokensPerBatch(), 4 * options.maxLength() + 8)).validate();
    this.encoder = new PairEncoder(this.options, tok, DataPipeline.template(this.options, tok));
  }

  public DataOptions options() { return options; }
  public int readoutToken() { return encoder.readoutToken(); }

  /** A prompt (text, or chat messages) with one response text. */
  public record Input(String promptText, List<ChatMessage> promptMessages, String response) {
    public static Input text(String prompt, String response) { return new Input(prompt, null, response); }
    public static Input chat(List<ChatMessage> prompt, String response) { return new Input(null, List.copyOf(prompt), response); }
  }

  /**
   * One input's outcome: {@code tokens} (prompt ++ response ++ readout, the readout last) and how many
   * of them are prompt, whether truncation cut it; or null tokens with a stable reason key
   * (too_long, empty_response, template_error, ...) and a message.
   */
  public record Encoded(int[] tokens, int promptTokens, boolean truncated, String dropReason, String message) {
    public boolean kept() { return tokens != null; }
  }

  public List<Encoded> encode(List<Input> inputs) {
    List<PreferenceRecord> records = new ArrayList<>(inputs.size());
    for (int i = 0; i < inputs.size(); i++) {
      Input in = inputs.get(i);
      String r = in.response();
      String other = r.startsWith("-") ? "+" : "-";
      String where = "input " + (i + 1);
      records.add(in.promptMessages() == null
          ? PreferenceRecord.text(in.promptText(), r, other, 0f, where)
          : PreferenceRecord.chat(in.promptMessages(), List.of(ChatMessage.assistant(r)), List.of(ChatMessage.assistant(other)), 0f, where));
    }
    List<PairEncoder.Result> results = encoder.encode(records);
    List<Encoded> out = new ArrayList<>(results.size());
    for (PairEncoder.Result res : results) {
      if (res.bad() != null) {
        out.add(new Encoded(null, 0, false, res.bad().reason(), stripLocation(res.bad().getMessage())));
      } else if (res.pair() == null) {
        out.add(new Encoded(null, 0, false, res.dropReason(), stripLocation(res.dropMessage())));
      } else {
        EncodedPair p = res.pair();
        int[] t = Arrays.copyOf(p.prompt(), p.prompt().length + p.chosen().length + 1);
        System.arraycopy(p.chosen(), 0, t, p.prompt().length, p.chosen().length);
        t[t.length - 1] = p.readoutToken();
        out.add(new Encoded(t, p.prompt().length, res.truncatedPrompt() || res.truncatedResponse(), null, null));
      }
    }
    return out;
  }

  /** "input 3: too_long: sequence of ..." to "too_long: sequence of ..." (callers name the input their own way). */
  private static String stripLocation(String message) {
    int colon = message.indexOf(": ");
    return colon > 0 && message.startsWith("input ") ? message.substring(colon + 2) : message;
  }
}
