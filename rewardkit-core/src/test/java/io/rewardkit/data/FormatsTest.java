package io.rewardkit.data;

import static io.rewardkit.data.DataTestSupport.decode;
import static io.rewardkit.data.DataTestSupport.load;
import static io.rewardkit.data.DataTestSupport.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each record format, container (JSONL, JSON array, directory, gzip), key mapping and margins. */
class FormatsTest {
  @TempDir Path tmp;

  private static final int EOS = ByteTokenizer.EOS;

  @Test
  void hhRlhfPromptIsSharedPrefixUpToLastAssistant() throws Exception {
    Path f = write(tmp, "hh.jsonl",
        "{\"chosen\": \"\\n\\nHuman: Hi\\n\\nAssistant: Hello\\n\\nHuman: Bye\\n\\nAssistant: See you\", "
            + "\"rejected\": \"\\n\\nHuman: Hi\\n\\nAssistant: Hello\\n\\nHuman: Bye\\n\\nAssistant: Go away\"}");
    EncodedDataset ds = load(DataOptions.defaults(), f);
    assertEquals(1, ds.size());
    EncodedPair p = ds.pair(0);
    assertEquals("\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Bye\n\nAssistant:", decode(p.prompt()));
    assertEquals(" See you", decode(p.chosen()));
    assertEquals(" Go away", decode(p.rejected()));
    assertEquals(EOS, p.readoutToken());
    assertEquals("hh-rlhf", ds.report().datasets().get(0).formats().values().iterator().next());
  }

  @Test
  void hhRlhfWhereResponsesShareLeadingWordsStillCutsAtAssistant() throws Exception {
    Path f = write(tmp, "hh.jsonl",
        "{\"chosen\": \"\\n\\nHuman: Q\\n\\nAssistant: I think yes\", \"rejected\": \"\\n\\nHuman: Q\\n\\nAssistant: I think no\"}");
    EncodedPair p = load(DataOptions.defaults(), f).pair(0);
    assertEquals("\n\nHuman: Q\n\nAssistant:", decode(p.prompt()));
    assertEquals(" I think yes", decode(p.chosen()));
  }

  @Test
  void promptChosenRejectedStringsWithCustomKeysAndMargin() throws Exception {
    Path f = write(tmp, "t.jsonl",
        "{\"question\": \"2+2?\", \"good\": \"4\", \"bad\": \"5\", \"m\": 1.5}",
        "{\"question\": \"3+3?\", \"good\": \"6\", \"bad\": \"7\"}");
    DataOptions o = DataOptions.defaults().withKeys("question", "good", "bad").withMarginKey("m");
    EncodedDataset ds = load(o, f);
    assertEquals(2, ds.size());
    assertEquals("2+2?", decode(ds.pair(0).prompt()));
    assertEquals("4", decode(ds.pair(0).chosen()));
    assertEquals("5", decode(ds.pair(0).rejected()));
    assertEquals(1.5f, ds.margin(0));
    assertEquals(0f, ds.margin(1));
    assertEquals("text", ds.report().datasets().get(0).formats().values().iterator().next());
  }

  @Test
  void ratingMapsToMarginLlama2Style() throws Exception {
    Path f = write(tmp, "r.jsonl",
        "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", \"rating\": \"Significantly Better\"}",
        "{\"prompt\": \"p\", \"chosen\": \"c\", \"rejected\": \"d\", \"rating\": \"slightly better\"}",
        "{\"prompt\": \"p\", \"chosen\": \"e\", \"rejected\": \"f\", \"rating\": \"way better\"}");
    DataOptions o = DataTestSupport.skip().withRating("rating", DataOptions.parseRatingMargins("llama2"));
    EncodedDataset ds = load(o, f);
    assertEquals(2, ds.size());
    assertEquals(3f, ds.margin(0));
    assertEquals(1f, ds.margin(1));
    assertEquals(Map.of("unknown_rating", 1L), ds.report().datasets().get(0).bad());
    assertEquals(Map.of("a", 0.5f), DataOptions.parseRatingMargins("a=0.5"));
  }

  @Test
  void openAiMessagesPromptWithAssistantResponseListsUsesTemplate() throws Exception {
    Path f = write(tmp, "m.jsonl",
        "{\"prompt\": [{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", \"content\": \"Q\"}], "
            + "\"chosen\": [{\"role\": \"assistant\", \"content\": \"good\"}], "
            + "\"rejected\": [{\"role\": \"assistant\", \"content\": \"bad\"}]}");
    EncodedDataset ds = load(DataOptions.defaults(), f);
    EncodedPair p = ds.pair(0);
    assertEquals("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n", decode(p.prompt()));
    assertEquals("good<|im_end|>\n", decode(p.chosen()));
    assertEquals("bad<|im_end|>\n", decode(p.rejected()));
    assertEquals("messages", ds.report().datasets().get(0).formats().values().iterator().next());
    assertEquals(0, ds.report().promptBoundaryViolations());
  }

  @Test
  void stringPromptWithMessageResponses() throws Exception {
    Path f = write(tmp, "m.jsonl",
        "{\"prompt\": \"Q\", \"chosen\": [{\"role\": \"assistant\", \"content\": \"yes\"}], \"rejected\": \"no\"}");
    EncodedPair p = load(DataOptions.defaults(), f).pair(0);
    assertEquals("<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n", decode(p.prompt()));
    assertEquals("no<|im_end|>\n", decode(p.rejected()));
  }

  @Test
  void fullConversationsPromptIsEverythingBeforeLastAssistantTurn() throws Exception {
    String turns = "{\"role\": \"user\", \"content\": \"A\"}, {\"role\": \"assistant\", \"content\": \"B\"}, "
        + "{\"role\": \"user\", \"content\": \"C\"}";
    Path f = write(tmp, "c.jsonl",
        "{\"chosen\": [" + turns + ", {\"role\": \"assistant\", \"content\": \"D1\"}], "
            + "\"rejected\": [" + turns + ", {\"role\": \"assistant\", \"content\": \"D2\"}]}",
        "{\"chosen\": [" + turns + ", {\"role\": \"assistant\", \"content\": \"X\"}], "
            + "\"rejected\": [{\"role\": \"user\", \"content\": \"other\"}, {\"role\": \"assistant\", \"content\": \"Y\"}]}");
    EncodedDataset ds = load(DataTestSupport.skip(), f);
    assertEquals(1, ds.size());
    EncodedPair p = ds.pair(0);
    assertEquals("<|im_start|>user\nA<|im_end|>\n<|im_start|>assistant\nB<|im_end|>\n<|im_start|>user\nC<|im_end|>\n"
        + "<|im_start|>assistant\n", decode(p.prompt()));
    assertEquals("D1<|im_end|>\n", decode(p.chosen()));
    assertEquals("conversation", ds.report().datasets().get(0).formats().values().iterator().next());
    assertEquals(Map.of("prompt_mismatch", 1L), ds.report().datasets().get(0).bad());
  }

  @Test
  void jsonArrayDirectoryAndGzipAreReadAndFormatIsDetectedPerFile() throws Exception {
    Path dir = tmp.resolve("data");
    write(dir, "a.json", "[", "{\"prompt\": \"p1\", \"chosen\": \"c1\", \"rejected\": \"r1\"},",
        "{\"prompt\": \"p2\", \"chosen\": \"c2\", \"rejected\": \"r2\"}", "]");
    DataTestSupport.writeGzip(dir, "b.jsonl.gz",
        "{\"chosen\": \"\\n\\nHuman: h\\n\\nAssistant: x\", \"rejected\": \"\\n\\nHuman: h\\n\\nAssistant: y\"}");
    write(dir, "notes.txt", "ignored");
    EncodedDataset ds = load(DataOptions.defaults(), dir);
    assertEquals(3, ds.size());
    assertEquals("p1", decode(ds.pair(0).prompt()));
    assertEquals("p2", decode(ds.pair(1).prompt()));
    assertEquals("\n\nHuman: h\n\nAssistant:", decode(ds.pair(2).prompt()));
    DatasetStats st = ds.report().datasets().get(0);
    assertEquals(2, st.files().size());
    assertEquals(List.of("hh-rlhf", "text"), st.formats().values().stream().sorted().toList());
  }

  @Test
  void explicitFormatOverridesDetection() throws Exception {
    // Detection would say "text" (prompt present); forcing hh-rlhf ignores the prompt field.
    Path f = write(tmp, "o.jsonl",
        "{\"prompt\": \"unused\", \"chosen\": \"\\n\\nHuman: h\\n\\nAssistant: x\", \"rejected\": \"\\n\\nHuman: h\\n\\nAssistant: y\"}");
    EncodedPair p = load(DataOptions.defaults().withFormat(DataOptions.Format.HH_RLHF), f).pair(0);
    assertEquals("\n\nHuman: h\n\nAssistant:", decode(p.prompt()));
  }

  @Test
  void rewardTokenIsAppendedInsteadOfEos() throws Exception {
    Path f = write(tmp, "t.jsonl", "{\"prompt\": \"p\", \"chosen\": \"a<|endoftext|>\", \"rejected\": \"b\"}");
    EncodedDataset byName = load(DataOptions.defaults().withRewardToken("<|reward|>"), f);
    assertEquals(ByteTokenizer.REWARD, byName.readoutToken());
    assertEquals("a<|endoftext|>", decode(byName.pair(0).chosen()));
    EncodedDataset byId = load(DataOptions.defaults().withRewardToken("259"), f);
    assertEquals(ByteTokenizer.REWARD, byId.readoutToken());
    // EOS readout: a response already ending in EOS gives it up as its readout (no double EOS).
    EncodedDataset eos = load(DataOptions.defaults(), f);
    assertEquals("a", decode(eos.pair(0).chosen()));
    assertThrows(io.rewardkit.RewardKitException.class, () -> load(DataOptions.defaults().withRewardToken("<|nope|>"), f));
    assertThrows(io.rewardkit.RewardKitException.class, () -> load(DataOptions.defaults().withRewardToken("99999"), f));
  }

  /** Byte tokenizer plus one BPE-like merge "ab" -> 300, to provoke a merge across the prompt boundary. */
  private static final class MergingTokenizer implements Tokenizer {
    private final ByteTokenizer bytes = new ByteTokenizer();

    @Override public int[] encode(String text) {
      int[] b = bytes.encode(text);
      int[] out = new int[b.length];
      int n = 0;
      for (int i = 0; i < b.length; i++) {
        if (b[i] == 'a' && i + 1 < b.length && b[i + 1] == 'b') { out[n++] = 300; i++; } else out[n++] = b[i];
      }
      return java.util.Arrays.copyOf(out, n);
    }
    @Override public int vocabSize() { return 301; }
    @Override public java.util.OptionalInt tokenId(String token) { return bytes.tokenId(token); }
    @Override public String eosToken() { return bytes.eosToken(); }
    @Override public String chatTemplate() { return null; }
    @Override public String hash() { return "merging-test"; }
    @Override public String name() { return "merging"; }
  }

  @Test
  void promptTokenBoundaryViolationsAreCountedAndRepaired() throws Exception {
    Path tpl = write(tmp, "plain.jinja", "{%- for m in messages %}{{ m.content }}{% endfor %}");
    List<PreferenceRecord> recs = List.of(PreferenceRecord.chat(List.of(ChatMessage.user("xa")),
        List.of(ChatMessage.assistant("b1")), List.of(ChatMessage.assistant("c2")), 0f, "merge:1"));
    DataOptions o = DataOptions.defaults().withChatTemplate(tpl.toString());
    EncodedDataset ds = EncodedDataset.fromRecords(recs, new MergingTokenizer(), o);
    assertEquals(1, ds.report().promptBoundaryViolations());
    EncodedPair p = ds.pair(0);
    assertEquals(List.of((int) 'x', (int) 'a'), java.util.Arrays.stream(p.prompt()).boxed().toList());
    // chosen re-tokenized on its own after the prompt; rejected needed no repair
    assertEquals(List.of((int) 'b', (int) '1'), java.util.Arrays.stream(p.chosen()).boxed().toList());
    assertEquals(List.of((int) 'c', (int) '2'), java.util.Arrays.stream(p.rejected()).boxed().toList());
    // Without a template, chat records are bad records, not silently rendered some other way.
    DataOptions none = DataTestSupport.skip().withChatTemplate("none");
    assertThrows(io.rewardkit.RewardKitException.class, () -> EncodedDataset.fromRecords(recs, new ByteTokenizer(), none));
  }

  @Test
  void fromRecordsBuildsInMemoryDatasets() {
    List<PreferenceRecord> recs = List.of(
        PreferenceRecord.text("p", "good", "bad", 0.25f, "synthetic:0"),
        PreferenceRecord.chat(List.of(ChatMessage.user("q")), List.of(ChatMessage.assistant("y")),
            List.of(ChatMessage.assistant("n")), 0f, "synthetic:1"));
    EncodedDataset ds = EncodedDataset.fromRecords(recs, new ByteTokenizer(), DataOptions.defaults());
    assertEquals(2, ds.size());
    assertEquals(0.25f, ds.margin(0));
    assertTrue(decode(ds.pair(1).prompt()).endsWith("<|im_start|>assistant\n"));
    assertTrue(Files.exists(tmp));
  }
}
