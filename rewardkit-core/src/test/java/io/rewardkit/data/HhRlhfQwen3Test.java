package io.rewardkit.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.data.DataOptions.Layout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The real 2000 hh-rlhf pairs and the Qwen3 tokenizer/template from ../shared (skipped without it). */
class HhRlhfQwen3Test {
  private static HfTokenizer tok;
  private static final int IM_END = 151645;
  private static final int THINK = 151667;

  private static synchronized HfTokenizer tok() {
    if (tok == null) tok = HfTokenizer.load(DataTestSupport.qwen3Dir());
    return tok;
  }

  @AfterAll
  static void close() {
    if (tok != null) tok.close();
  }

  @Test
  void djlBindingNeitherTruncatesNorPadsAndHonoursSpecialTokens() {
    HfTokenizer t = tok();
    String longText = "word ".repeat(1500);
    int[] ids = t.encode(longText);
    assertTrue(ids.length > 1000, "truncated to " + ids.length);
    List<int[]> batch = t.encodeBatch(List.of("hi", longText, "<|im_start|>user\nHi<|im_end|>"));
    assertArrayEquals(t.encode("hi"), batch.get(0));
    assertArrayEquals(ids, batch.get(1));
    assertArrayEquals(new int[] {151644, 872, 198, 13048, IM_END}, batch.get(2));
    assertEquals("<|im_end|>", t.eosToken());
    assertEquals(IM_END, t.eosTokenId().getAsInt());
    assertEquals(151669, t.vocabSize());
    assertEquals("<|im_start|>user\nHi<|im_end|>", t.decode(batch.get(2)));
  }

  @Test
  void realPairsFailFastOnTheFirstEmptyResponse() {
    // Fixtures resolved before assertThrows: their skip (an assumption) must not run inside the lambda,
    // where assertThrows would report it as the wrong exception instead of skipping.
    Path pairs = DataTestSupport.hhPairs();
    HfTokenizer t = tok();
    BadRecordException e = assertThrows(BadRecordException.class,
        () -> DataPipeline.load(List.of(pairs), DataOptions.defaults(), t));
    assertEquals("empty_response", e.reason());
    assertTrue(e.getMessage().contains("pairs-2000.jsonl:719"), e.getMessage());
  }

  @Test
  void realPairsPackAbove95PercentWithSharedPrefixSaving() {
    DataOptions o = DataTestSupport.skip();
    EncodedDataset ds = DataPipeline.load(List.of(DataTestSupport.hhPairs()), o, tok());
    DatasetStats st = ds.report().datasets().get(0);
    assertEquals(1997, st.kept());
    assertEquals(Map.of("empty_response", 3L), st.bad());
    assertEquals(0, st.droppedTotal());
    assertEquals(IM_END, ds.readoutToken());
    for (int i = 0; i < ds.size(); i += 97) {
      EncodedPair p = ds.pair(i);
      assertTrue(tok().decode(p.prompt()).endsWith("\n\nAssistant:"), "pair " + i);
      assertTrue(tok().decode(p.prompt()).startsWith("\n\nHuman:"), "pair " + i);
    }
    Packer.Stats sep = ds.packingStats(0, Layout.SEPARATE);
    Packer.Stats shared = ds.packingStats(0, Layout.SHARED_PREFIX);
    assertTrue(sep.efficiency() >= 0.95, "separate eta " + sep.efficiency());
    assertTrue(shared.efficiency() >= 0.95, "shared eta " + shared.efficiency());
    assertTrue(sep.sharedPrefixSaving() > 1.4 && sep.sharedPrefixSaving() < 1.7, "saving " + sep.sharedPrefixSaving());
    int pairs = 0;
    java.util.Map<Long, Integer> index = new java.util.HashMap<>();  // pair id = record index, not position
    for (int i = 0; i < ds.size(); i++) index.put(ds.pairId(i), i);
    for (PackedBatch b : ds.batches(0)) {
      assertTrue(b.numTokens() <= 16384);
      for (int k = 0; k < b.numPairs(); k++) {
        int cs = b.cuSeqlens()[2 * k], rs = b.cuSeqlens()[2 * k + 1];
        int pl = ds.promptLength(index.get(b.pairIds()[k]));
        assertArrayEquals(Arrays.copyOfRange(b.tokens(), cs, cs + pl), Arrays.copyOfRange(b.tokens(), rs, rs + pl));
      }
      pairs += b.numPairs();
    }
    assertEquals(1997, pairs);
    for (PackedBatch b : ds.batches(0, Layout.SHARED_PREFIX)) b.requireReadoutToken(IM_END);
  }

  /** hh-rlhf text to OpenAI messages: "\n\nHuman: " / "\n\nAssistant: " turns. */
  private static List<ChatMessage> turns(String text) {
    List<ChatMessage> out = new ArrayList<>();
    for (String part : text.split("\n\n(?=Human: |Assistant: )")) {
      if (part.startsWith("Human: ")) out.add(ChatMessage.user(part.substring(7)));
      else if (part.startsWith("Assistant: ")) out.add(ChatMessage.assistant(part.substring(11)));
    }
    return out;
  }

  @Test
  void qwen3TemplateOnRealConversationsKeepsPromptTokensAsPrefix() throws Exception {
    ObjectMapper om = new ObjectMapper();
    List<String> lines = Files.readAllLines(DataTestSupport.hhPairs()).subList(0, 40);
    List<PreferenceRecord> recs = new ArrayList<>();
    for (String line : lines) {
      JsonNode n = om.readTree(line);
      List<ChatMessage> c = turns(n.get("chosen").asText()), r = turns(n.get("rejected").asText());
      if (c.isEmpty() || r.isEmpty() || !c.subList(0, c.size() - 1).equals(r.subList(0, r.size() - 1))) continue;
      recs.add(PreferenceRecord.chat(c.subList(0, c.size() - 1), c.subList(c.size() - 1, c.size()),
          r.subList(r.size() - 1, r.size()), 0, "hh:" + recs.size()));
    }
    assertTrue(recs.size() >= 30, "usable conversations " + recs.size());
    DataOptions o = DataTestSupport.skip().withMaxLength(8192).withMaxTokensPerBatch(16384);
    EncodedDataset ds = EncodedDataset.fromRecords(recs, tok(), o);
    assertEquals(0, ds.report().promptBoundaryViolations());
    ChatTemplate t = ChatTemplate.of(tok());
    for (int i = 0; i < ds.size(); i++) {
      EncodedPair p = ds.pair(i);
      PreferenceRecord r = recs.get(i);
      assertEquals(t.render(r.promptMessages(), true), tok().decode(p.prompt()));
      assertEquals(THINK, p.chosen()[0], "Qwen3 opens the final assistant turn with <think>");
      List<ChatMessage> full = new ArrayList<>(r.promptMessages());
      full.addAll(r.chosenMessages());
      String rendered = t.render(full, false);
      assertTrue(rendered.endsWith("<|im_end|>\n"));
      int[] seq = new int[p.prompt().length + p.chosen().length + 1];
      System.arraycopy(p.prompt(), 0, seq, 0, p.prompt().length);
      System.arraycopy(p.chosen(), 0, seq, p.prompt().length, p.chosen().length);
      seq[seq.length - 1] = p.readoutToken();
      // The readout is the template's own final <|im_end|>; only the trailing newline is cut.
      assertEquals(rendered.substring(0, rendered.length() - 1), tok().decode(seq));
    }
    for (PackedBatch b : ds.batches(0, Layout.SHARED_PREFIX)) b.requireReadoutToken(IM_END);
  }

  @Test
  void rewardTokenFromTheVocabulary() {
    DataOptions o = DataOptions.defaults().withRewardToken("<|endoftext|>");
    EncodedDataset ds = EncodedDataset.fromRecords(List.of(PreferenceRecord.text("Q: hi\nA:", " yes", " no", 0, "x")), tok(), o);
    assertEquals(151643, ds.readoutToken());
    assertTrue(Files.exists(DataTestSupport.qwen3Dir().resolve("tokenizer.json")));
  }
}
