package io.rewardkit.data;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * Text to token ids. {@link #encode} never adds BOS/EOS or other special tokens itself, never
 * truncates and never pads; special and added token strings in the text (e.g. "<|im_end|>") are
 * recognised as their single ids. Implementations are safe to call from several threads.
 */
public interface Tokenizer extends AutoCloseable {

  int[] encode(String text);

  /** Encodes many texts; implementations may run them in parallel. Same result as encode() each. */
  default List<int[]> encodeBatch(List<String> texts) {
    List<int[]> out = new ArrayList<>(texts.size());
    for (String t : texts) out.add(encode(t));
    return out;
  }

  /** Number of ids (largest id + 1). */
  int vocabSize();

  /** The id of a token given by its exact string (special/added or vocabulary entry), if it is one token. */
  OptionalInt tokenId(String token);

  /** The end-of-sequence token string (tokenizer_config.json eos_token), or null if it has none. */
  String eosToken();

  /** Chat template source (Jinja), or null if the tokenizer has none. */
  String chatTemplate();

  /** Stable identity of the vocabulary and rules (e.g. SHA-256 of tokenizer files), for cache manifests. */
  String hash();

  /** Short human-readable name. */
  String name();

  /** The beginning-of-sequence token string (tokenizer_config.json bos_token) chat templates write, or null. */
  default String bosToken() { return null; }

  /** The padding token string (tokenizer_config.json pad_token), or null if it has none. */
  default String padToken() { return null; }

  /** Special/added tokens (content to id), e.g. tokenizer.json added_tokens; empty when none. */
  default java.util.Map<String, Integer> addedTokens() { return java.util.Map.of(); }

  default OptionalInt eosTokenId() {
    return eosToken() == null ? OptionalInt.empty() : tokenId(eosToken());
  }

  @Override
  default void close() {}
}
