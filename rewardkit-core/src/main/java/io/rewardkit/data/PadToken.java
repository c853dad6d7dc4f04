package io.rewardkit.data;

import io.rewardkit.RewardKitException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The padding token an exported checkpoint declares (config.json {@code pad_token_id} and the
 * tokenizer files' {@code pad_token}). transformers' {@code *ForSequenceClassification} pools at the
 * last token that is not the pad, so the pad must never be the readout token: if it were, every
 * reader that pads (transformers, vLLM, TRL) would score the token before the readout.
 *
 * <p>Rule: the tokenizer's own pad_token when it exists and is not the readout token; otherwise a
 * special token of the tokenizer that is not the readout token, preferring one named like a pad,
 * then end-of-text/unknown tokens, then the lowest id. No embedding row is added.
 *
 * @param token  the token string
 * @param id     its id
 * @param source "tokenizer" when it is the tokenizer's pad_token, else why another was chosen
 */
public record PadToken(String token, int id, String source) {

  public static PadToken choose(Tokenizer tok, int readoutId) {
    String own = tok.padToken();
    OptionalInt ownId = own == null ? OptionalInt.empty() : tok.tokenId(own);
    if (ownId.isPresent() && ownId.getAsInt() != readoutId) return new PadToken(own, ownId.getAsInt(), "tokenizer");
    String why = own == null ? "the tokenizer has no pad_token"
        : ownId.isEmpty() ? "the tokenizer's pad_token " + own + " is not one token"
        : "the tokenizer's pad_token " + own + " is the readout token";
    List<Map.Entry<String, Integer>> cands = new ArrayList<>();
    for (Map.Entry<String, Integer> e : tok.addedTokens().entrySet()) {
      if (e.getValue() != readoutId && e.getValue() >= 0 && e.getValue() < tok.vocabSize()) cands.add(e);
    }
    cands.sort(Comparator.comparingInt((Map.Entry<String, Integer> e) -> rank(e.getKey())).thenComparingInt(Map.Entry::getValue));
    if (cands.isEmpty()) {
      throw new RewardKitException("tokenizer " + tok.name() + ": " + why + " and it has no other special token to pad with;"
          + " add a pad_token to its tokenizer_config.json (any token that is not the readout token)");
    }
    Map.Entry<String, Integer> c = cands.get(0);
    return new PadToken(c.getKey(), c.getValue(), "chosen: " + why);
  }

  private static int rank(String token) {
    String t = token.toLowerCase(Locale.ROOT);
    if (t.contains("pad")) return 0;
    if (t.contains("endoftext") || t.contains("end_of_text") || t.equals("</s>")) return 1;
    if (t.contains("unk")) return 2;
    return 3;
  }
}
