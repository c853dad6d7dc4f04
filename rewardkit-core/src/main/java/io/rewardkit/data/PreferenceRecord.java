package io.rewardkit.data;

import java.util.List;
import java.util.Objects;

/**
 * One preference pair in memory, before tokenization. Either text form (prompt and responses are
 * plain strings, tokenized separately and concatenated) or chat form (message lists rendered with a
 * chat template). {@code source} is "file:line" (or any label) for error messages.
 *
 * @param promptText       text-form prompt (may be empty), null in chat form
 * @param chosenText       text-form preferred response, null in chat form
 * @param rejectedText     text-form dispreferred response, null in chat form
 * @param promptMessages   chat-form prompt messages, null in text form
 * @param chosenMessages   chat-form preferred response messages (usually one assistant message)
 * @param rejectedMessages chat-form dispreferred response messages
 * @param margin           preference margin (0 when the data has none)
 * @param datasetId        which input dataset the pair came from
 * @param source           where the record came from, e.g. "data/train.jsonl:17"
 */
public record PreferenceRecord(
    String promptText, String chosenText, String rejectedText,
    List<ChatMessage> promptMessages, List<ChatMessage> chosenMessages, List<ChatMessage> rejectedMessages,
    float margin, int datasetId, String source) {

  public PreferenceRecord {
    boolean text = chosenText != null;
    if (text) {
      Objects.requireNonNull(promptText, "promptText");
      Objects.requireNonNull(rejectedText, "rejectedText");
      if (promptMessages != null || chosenMessages != null || rejectedMessages != null) {
        throw new IllegalArgumentException("a record is either text or chat form, not both");
      }
    } else {
      Objects.requireNonNull(promptMessages, "promptMessages");
      Objects.requireNonNull(chosenMessages, "chosenMessages");
      Objects.requireNonNull(rejectedMessages, "rejectedMessages");
      promptMessages = List.copyOf(promptMessages);
      chosenMessages = List.copyOf(chosenMessages);
      rejectedMessages = List.copyOf(rejectedMessages);
    }
    source = source == null ? "<memory>" : source;
  }

  public static PreferenceRecord text(String prompt, String chosen, String rejected, float margin, String source) {
    return new PreferenceRecord(prompt, chosen, rejected, null, null, null, margin, 0, source);
  }

  public static PreferenceRecord chat(List<ChatMessage> prompt, List<ChatMessage> chosen, List<ChatMessage> rejected,
      float margin, String source) {
    return new PreferenceRecord(null, null, null, prompt, chosen, rejected, margin, 0, source);
  }

  public boolean isChat() { return chosenText == null; }

  public PreferenceRecord withDatasetId(int id) {
    return new PreferenceRecord(promptText, chosenText, rejectedText, promptMessages, chosenMessages,
        rejectedMessages, margin, id, source);
  }
}
