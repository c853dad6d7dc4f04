package io.rewardkit.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.data.ByteTokenizer;
import io.rewardkit.data.ChatMessage;
import io.rewardkit.data.DataOptions;
import io.rewardkit.data.DataPipeline;
import io.rewardkit.data.EncodedDataset;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.data.PadToken;
import io.rewardkit.data.PreferenceRecord;
import io.rewardkit.data.Tokenizer;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backends;
import io.rewardkit.model.ModelConfig;
import io.rewardkit.model.RewardModel;
import io.rewardkit.train.RunSetup;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The readout matrix of issue 10: in every case below the reward is read at the readout token right
 * after the response's final token (checked on the packed tokens, both layouts), transformers'
 * pooling rule (last token that is not the exported pad) finds that same token with right and left
 * padding, and chosen != rejected at initialisation (the two readouts see different responses).
 */
class ReadoutMatrixTest {
  static Backend backend;
  static RewardModel model;
  @TempDir Path tmp;

  @BeforeAll static void init() {
    backend = Backends.select("cpu");
    model = RewardModel.randomInit(ModelConfig.parse(RunSetup.DEFAULT_MODEL_CONFIG.replace("\"max_position_embeddings\": 64", "\"max_position_embeddings\": 256"), "default"), backend, 7);
  }

  @AfterAll static void close() { model.close(); }

  /** The byte tokenizer with another eos/pad/template: the input tokenizers the matrix needs. */
  record Tok(String eos, String pad, String template) implements Tokenizer {
    static final ByteTokenizer B = new ByteTokenizer();
    @Override public int[] encode(String text) { return B.encode(text); }
    @Override public int vocabSize() { return B.vocabSize(); }
    @Override public OptionalInt tokenId(String token) { return B.tokenId(token); }
    @Override public String eosToken() { return eos; }
    @Override public String padToken() { return pad; }
    @Override public Map<String, Integer> addedTokens() { return B.addedTokens(); }
    @Override public String chatTemplate() { return template; }
    @Override public String hash() { return "matrix-" + eos + pad + template; }
    @Override public String name() { return "matrix"; }
  }

  static final String CHATML = ByteTokenizer.CHATML_TEMPLATE;
  /** Llama-3 style: every turn ends in the EOS-like token, so the prompt holds it before the response. */
  static final String EOS_PER_TURN = "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content"
      + " + '<|endoftext|>' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

  static List<PreferenceRecord> chat(String chosen, String rejected) {
    List<ChatMessage> prompt = List.of(new ChatMessage("system", "be kind"), new ChatMessage("user", "say hi"),
        ChatMessage.assistant("hello"), new ChatMessage("user", "again"));
    return List.of(PreferenceRecord.chat(prompt, List.of(ChatMessage.assistant(chosen)), List.of(ChatMessage.assistant(rejected)), 0f, "c:1"));
  }

  static List<PreferenceRecord> text(String chosen, String rejected) {
    return List.of(PreferenceRecord.text("Question: why?\nAnswer:", chosen, rejected, 0f, "t:1"));
  }

  /** Checks every readout of ds (both layouts); returns [chosen reward, rejected reward] of pair 0. */
  static float[] check(EncodedDataset ds, Tokenizer tok, String chosen, String rejected) {
    int readout = ds.readoutToken();
    PadToken pad = PadToken.choose(tok, readout);
    assertNotEquals(readout, pad.id(), "the exported pad must not be the readout token");
    float[] sep = null;
    for (DataOptions.Layout layout : DataOptions.Layout.values()) {
      for (PackedBatch b : ds.batches(0, layout)) {
        for (int p = 0; p < b.numPairs(); p++) {
          int c = b.readout()[b.chosen()[p]], r = b.readout()[b.rejected()[p]];
          for (int[] at : new int[][] {{c, last(chosen)}, {r, last(rejected)}}) {
            assertEquals(readout, b.tokens()[at[0]], layout + ": the reward is read at the readout token");
            assertEquals(at[1], b.tokens()[at[0] - 1], layout + ": right after the response's final token");
          }
        }
        float[] rw = model.score(b);
        float rc = rw[b.chosen()[0]], rr = rw[b.rejected()[0]];
        assertNotEquals(rc, rr, layout + ": chosen and rejected rewards at init");
        if (layout == DataOptions.Layout.SEPARATE) {
          sep = new float[] {rc, rr};
          hfPooling(b, pad.id());
        } else {
          assertEquals(sep[0], rc, 1e-4);  // shared-prefix packing reads the same rewards
          assertEquals(sep[1], rr, 1e-4);
        }
      }
    }
    return sep;
  }

  static int last(String response) {
    byte[] u = response.getBytes(StandardCharsets.UTF_8);
    return u[u.length - 1] & 0xff;
  }

  /** transformers' rule on a padded batch of the separate sequences: the rightmost non-pad token is the readout. */
  static void hfPooling(PackedBatch b, int padId) {
    int[] cu = b.cuSeqlens();
    int width = 0;
    for (int s = 0; s + 1 < cu.length; s++) width = Math.max(width, cu[s + 1] - cu[s] + 3);
    for (boolean left : new boolean[] {false, true}) {
      for (int s = 0; s + 1 < cu.length; s++) {
        int len = cu[s + 1] - cu[s], off = left ? width - len : 0;
        int[] row = new int[width];
        java.util.Arrays.fill(row, padId);
        System.arraycopy(b.tokens(), cu[s], row, off, len);
        int pooled = -1;
        for (int i = 0; i < width; i++) if (row[i] != padId) pooled = i;
        assertEquals(off + len - 1, pooled, (left ? "left" : "right") + " padding: transformers pools at the readout");
      }
    }
  }

  static EncodedDataset encode(List<PreferenceRecord> recs, Tokenizer tok, DataOptions o) {
    return EncodedDataset.fromRecords(recs, tok, o);
  }

  @Test void padEqualsEosInTheInputTokenizer() {
    Tok tok = new Tok("<|im_end|>", "<|im_end|>", CHATML);
    EncodedDataset ds = encode(chat("fine, thanks", "go away"), tok, DataOptions.defaults());
    assertEquals(ByteTokenizer.IM_END, ds.readoutToken());
    PadToken pad = PadToken.choose(tok, ds.readoutToken());
    assertEquals("<|pad|>", pad.token());
    assertTrue(pad.source().contains("is the readout token"), pad.source());
    check(ds, tok, "fine, thanks", "go away");
  }

  @Test void tokenizerWithoutPad() {
    Tok tok = new Tok("<|endoftext|>", null, null);
    check(encode(text(" because", " no idea"), tok, DataOptions.defaults()), tok, " because", " no idea");
    assertEquals("<|pad|>", PadToken.choose(tok, ByteTokenizer.EOS).token());
  }

  @Test void eosLikeTokenBeforeTheResponse() {
    Tok tok = new Tok("<|endoftext|>", "<|pad|>", EOS_PER_TURN);
    EncodedDataset ds = encode(chat("hi there", "hm"), tok, DataOptions.defaults());
    int eosInPrompt = 0;
    for (int t : ds.pair(0).prompt()) if (t == ByteTokenizer.EOS) eosInPrompt++;
    assertEquals(4, eosInPrompt, "each prompt turn ends in the EOS-like token");
    check(ds, tok, "hi there", "hm");
  }

  @Test void rewardTokenFromTheVocabularyIsAlwaysAppended() {
    Tok tok = new Tok("<|im_end|>", "<|pad|>", CHATML);
    DataOptions o = DataOptions.defaults().withRewardToken("<|reward|>");
    // chat: the full rendering, "<|im_end|>\n" included, then the reward token
    EncodedDataset ds = encode(chat("sure", "nope"), tok, o);
    assertEquals(ByteTokenizer.REWARD, ds.readoutToken());
    for (PackedBatch b : ds.batches(0, DataOptions.Layout.SEPARATE)) {
      int at = b.readout()[b.chosen()[0]];
      assertEquals(ByteTokenizer.REWARD, b.tokens()[at]);
      assertEquals('\n', b.tokens()[at - 1]);
      assertEquals(ByteTokenizer.IM_END, b.tokens()[at - 2]);
    }
    // text: appended right after the response
    check(encode(text(" yes", " no"), tok, o), tok, " yes", " no");
  }

  @Test void eosReadoutAppendedOrAlreadyThere() {
    Tok tok = new Tok("<|endoftext|>", "<|pad|>", null);
    float[] appended = check(encode(text(" yes", " no"), tok, DataOptions.defaults()), tok, " yes", " no");
    // a response that already ends in EOS gives it up as the readout: the same sequence, the same reward
    EncodedDataset ds = encode(text(" yes<|endoftext|>", " no"), tok, DataOptions.defaults());
    assertEquals(ds.pair(0).chosen().length, " yes".length());
    float[] present = check(ds, tok, " yes", " no");
    assertEquals(appended[0], present[0], 0f);
  }

  @Test void conversationsEndingInAnAssistantTurn() throws Exception {
    Path f = tmp.resolve("conv.jsonl");
    String conv = "{\"chosen\": [{\"role\": \"user\", \"content\": \"2+2?\"}, {\"role\": \"assistant\", \"content\": \"4\"},"
        + " {\"role\": \"user\", \"content\": \"sure?\"}, {\"role\": \"assistant\", \"content\": \"yes, 4\"}],"
        + " \"rejected\": [{\"role\": \"user\", \"content\": \"2+2?\"}, {\"role\": \"assistant\", \"content\": \"4\"},"
        + " {\"role\": \"user\", \"content\": \"sure?\"}, {\"role\": \"assistant\", \"content\": \"5\"}]}";
    Files.writeString(f, conv + "\n");
    Tok tok = new Tok("<|im_end|>", null, CHATML);
    EncodedDataset ds = DataPipeline.load(List.of(f), DataOptions.defaults(), tok);
    assertEquals(1, ds.size());
    check(ds, tok, "yes, 4", "5");
  }

  @Test void responsesAtExactlyMaxLengthAndOneOver() {
    Tok tok = new Tok("<|endoftext|>", "<|pad|>", null);
    String prompt = "p".repeat(10);
    DataOptions o = DataOptions.defaults().withMaxLength(48).withMaxTokensPerBatch(256);
    String fits = "a".repeat(37), over = "b".repeat(38);  // 10 + 37 + readout = 48
    EncodedDataset ds = encode(List.of(PreferenceRecord.text(prompt, fits, "c", 0f, "x:1")), tok, o);
    assertEquals(1, ds.size());
    check(ds, tok, fits, "c");
    long[] dropped = {0};
    String[] why = {null};
    EncodedDataset none = EncodedDataset.fromRecords(List.of(PreferenceRecord.text(prompt, over, "c", 0f, "x:2")), tok, o,
        (i, reason, msg) -> { dropped[0]++; why[0] = reason; });
    assertEquals(0, none.size());
    assertEquals(1, dropped[0]);
    assertEquals("too_long", why[0]);
    // cut from the right instead: the readout follows the response's last kept token
    EncodedDataset cut = encode(List.of(PreferenceRecord.text(prompt, over, "c", 0f, "x:2")), tok,
        o.withTruncation(DataOptions.Truncation.RESPONSE_RIGHT));
    assertEquals(37, cut.pair(0).chosen().length);
    check(cut, tok, fits.replace('a', 'b'), "c");
  }
}
