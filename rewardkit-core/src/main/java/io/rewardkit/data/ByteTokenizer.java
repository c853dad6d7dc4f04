package io.rewardkit.data;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.OptionalInt;

/**
 * Built-in byte-level tokenizer for the embedded default task: ids 0..255 are UTF-8 bytes, then a
 * few special tokens, each matched as a whole string in the text. Needs no files; vocab 264
 * (261..263 unused, so the embedding rows are a multiple of 8).
 */
public final class ByteTokenizer implements Tokenizer {
  public static final List<String> SPECIALS = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|reward|>", "<|pad|>");
  public static final int EOS = 256;
  public static final int IM_START = 257;
  public static final int IM_END = 258;
  public static final int REWARD = 259;
  public static final int PAD = 260;
  public static final int VOCAB_SIZE = 264;

  /** ChatML, so chat-form records work without a tokenizer_config.json. */
  public static final String CHATML_TEMPLATE =
      "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
      + "{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

  @Override public String padToken() { return SPECIALS.get(PAD - 256); }

  @Override
  public java.util.Map<String, Integer> addedTokens() {
    java.util.Map<String, Integer> m = new java.util.LinkedHashMap<>();
    for (int i = 0; i < SPECIALS.size(); i++) m.put(SPECIALS.get(i), 256 + i);
    return m;
  }

  @Override
  public int[] encode(String text) {
    byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
    int[] out = new int[utf8.length];
    int n = 0;
    for (int i = 0; i < utf8.length; ) {
      int special = utf8[i] == '<' ? specialAt(utf8, i) : -1;
      if (special >= 0) {
        out[n++] = 256 + special;
        i += SPECIAL_BYTES[special].length;
      } else {
        out[n++] = utf8[i++] & 0xff;
      }
    }
    return n == out.length ? out : java.util.Arrays.copyOf(out, n);
  }

  private static final byte[][] SPECIAL_BYTES = SPECIALS.stream().map(s -> s.getBytes(StandardCharsets.UTF_8)).toArray(byte[][]::new);

  private static int specialAt(byte[] b, int i) {
    outer:
    for (int s = 0; s < SPECIAL_BYTES.length; s++) {
      byte[] sp = SPECIAL_BYTES[s];
      if (i + sp.length > b.length) continue;
      for (int k = 0; k < sp.length; k++) if (b[i + k] != sp[k]) continue outer;
      return s;
    }
    return -1;
  }

  /** Decodes ids back to text (specials as their strings); for tests and debugging. */
  public String decode(int[] ids) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (int id : ids) {
      if (id < 256) out.write(id);
      else if (id - 256 < SPECIALS.size()) out.writeBytes(SPECIAL_BYTES[id - 256]);
      else throw new IllegalArgumentException("id " + id + " is not in the byte vocabulary");
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  @Override public int vocabSize() { return VOCAB_SIZE; }

  @Override
  public OptionalInt tokenId(String token) {
    int s = SPECIALS.indexOf(token);
    if (s >= 0) return OptionalInt.of(256 + s);
    byte[] b = token.getBytes(StandardCharsets.UTF_8);
    return b.length == 1 ? OptionalInt.of(b[0] & 0xff) : OptionalInt.empty();
  }

  @Override public String eosToken() { return "<|endoftext|>"; }
  @Override public String chatTemplate() { return CHATML_TEMPLATE; }
  @Override public String hash() { return "byte-tokenizer-v1"; }
  @Override public String name() { return "byte"; }
}
