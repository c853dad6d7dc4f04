package io.rewardkit.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Single responses encoded exactly as training encodes them: one scored sequence
 * {@code prompt ++ response ++ [readout]} per (prompt, response), with the same tokenizer, chat
 * template, readout rule, truncation and drop reasons as {@link PairEncoder} (and, like
 * {@link RecordParser}, a whitespace-only response is empty_response), and one result per input in
 * input order (a dropped response keeps its place, with the reason). {@code rewardkit score} and
 * {@code rewardkit serve} both encode through this class.
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
   * One input's outcome: {@code tokens} (prompt ++ response ++ readout, the readout last; no readout
   * appended when {@link #readoutToken()} is -1: the last token is read) and how many
   * of them are prompt, whether truncation cut it; or null tokens with a stable reason key
   * (too_long, empty_response, template_error, ...) and a message.
   */
  public record Encoded(int[] tokens, int promptTokens, boolean truncated, String dropReason, String message) {
    public boolean kept() { return tokens != null; }
  }

  public List<Encoded> encode(List<Input> inputs) {
    List<PreferenceRecord> records = new ArrayList<>(inputs.size());
    List<Integer> at = new ArrayList<>(inputs.size());
    Encoded[] out = new Encoded[inputs.size()];
    for (int i = 0; i < inputs.size(); i++) {
      Input in = inputs.get(i);
      String r = in.response();
      if (r.isBlank()) { // train drops such a pair (RecordParser); scoring says so the same way
        out[i] = new Encoded(null, 0, false, "empty_response", "empty_response: the response is empty or whitespace");
        continue;
      }
      at.add(i);
      String other = r.startsWith("-") ? "+" : "-";
      String where = "input " + (i + 1);
      records.add(in.promptMessages() == null
          ? PreferenceRecord.text(in.promptText(), r, other, 0f, where)
          : PreferenceRecord.chat(in.promptMessages(), List.of(ChatMessage.assistant(r)), List.of(ChatMessage.assistant(other)), 0f, where));
    }
    List<PairEncoder.Result> results = encoder.encode(records);
    for (int j = 0; j < results.size(); j++) {
      PairEncoder.Result res = results.get(j);
      Encoded e;
      if (res.bad() != null) {
        e = new Encoded(null, 0, false, res.bad().reason(), stripLocation(res.bad().getMessage()));
      } else if (res.pair() == null) {
        e = new Encoded(null, 0, false, res.dropReason(), stripLocation(res.dropMessage()));
      } else {
        EncodedPair p = res.pair();
        // readout < 0 (an HF model without rewardkit.json): nothing appended, the response's last token is read
        int appended = p.readoutToken() >= 0 ? 1 : 0;
        int[] t = Arrays.copyOf(p.prompt(), p.prompt().length + p.chosen().length + appended);
        System.arraycopy(p.chosen(), 0, t, p.prompt().length, p.chosen().length);
        if (appended == 1) t[t.length - 1] = p.readoutToken();
        e = new Encoded(t, p.prompt().length, res.truncatedPrompt() || res.truncatedResponse(), null, null);
      }
      out[at.get(j)] = e;
    }
    return Arrays.asList(out);
  }

  /** "input 3: too_long: sequence of ..." to "too_long: sequence of ..." (callers name the input their own way). */
  private static String stripLocation(String message) {
    int colon = message.indexOf(": ");
    return colon > 0 && message.startsWith("input ") ? message.substring(colon + 2) : message;
  }
}
