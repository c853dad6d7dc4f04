package io.rewardkit.data;

import static io.rewardkit.data.DataTestSupport.decode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.rewardkit.data.DataOptions.Truncation;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** --max_length with drop, prompt_left and response_right; counts per reason. */
class TruncationTest {
  private static final List<PreferenceRecord> RECS = List.of(
      PreferenceRecord.text("PPPPPPPPPPPPPPPPPPPP", "cccccccccc", "rrrrr", 0, "t:1"),  // 20 + 10 + 1 = 31
      PreferenceRecord.text("pp", "short", "other", 0, "t:2"),                          // fits
      PreferenceRecord.text("p", "c".repeat(40), "r".repeat(40), 0, "t:3"),           // responses too long
      PreferenceRecord.text("P".repeat(30), "sameXX", "sameYY", 0, "t:4"));          // prompt alone too long

  private static EncodedDataset run(Truncation t) {
    DataOptions o = DataOptions.defaults().withMaxLength(24).withMaxTokensPerBatch(64).withTruncation(t);
    return EncodedDataset.fromRecords(RECS, new ByteTokenizer(), o);
  }

  @Test
  void dropRemovesLongPairs() {
    EncodedDataset ds = run(Truncation.DROP);
    assertEquals(1, ds.size());
    assertEquals("pp", decode(ds.pair(0).prompt()));
    assertEquals(Map.of("too_long", 3L), ds.report().datasets().get(0).dropped());
  }

  @Test
  void promptLeftKeepsTheEndOfThePrompt() {
    EncodedDataset ds = run(Truncation.PROMPT_LEFT);
    DatasetStats st = ds.report().datasets().get(0);
    assertEquals(3, ds.size());
    assertEquals("P".repeat(13), decode(ds.pair(0).prompt())); // 24 - 1 - 10
    assertEquals("cccccccccc", decode(ds.pair(0).chosen()));
    assertEquals(2, st.truncatedPrompt());
    assertEquals(Map.of("response_too_long", 1L), st.dropped());
    for (int i = 0; i < ds.size(); i++) assertEquals(true, ds.pair(i).maxSequenceLength() <= 24);
  }

  @Test
  void responseRightKeepsTheReadoutToken() {
    EncodedDataset ds = run(Truncation.RESPONSE_RIGHT);
    DatasetStats st = ds.report().datasets().get(0);
    assertEquals(3, ds.size());
    EncodedPair p = ds.pair(2);
    assertEquals("c".repeat(22), decode(p.chosen())); // 24 - 1 - 1
    assertEquals(24, p.maxSequenceLength());
    PackedBatch b = ds.batches(0).get(0);
    b.requireReadoutToken(ByteTokenizer.EOS);
    assertEquals(Map.of("prompt_too_long", 1L), st.dropped());
    assertEquals(2, st.truncatedResponse());
  }

  private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

  private static EncodedDataset one(Truncation t, int maxLength, String prompt, String chosen, String rejected) {
    DataOptions o = DataOptions.defaults().withMaxLength(maxLength).withMaxTokensPerBatch(256).withTruncation(t);
    // A short second pair that always fits, so a dropped first pair still leaves a dataset.
    return EncodedDataset.fromRecords(List.of(PreferenceRecord.text(prompt, chosen, rejected, 0, "e:1"),
        PreferenceRecord.text("f", "a", "b", 0, "e:2")), new ByteTokenizer(), o);
  }

  /** Every prompt token distinct: keeping the wrong end (or a shifted window) of the prompt shows. */
  @Test
  void promptLeftKeepsExactlyTheLastTokensOfANonUniformPrompt() {
    EncodedDataset ds = one(Truncation.PROMPT_LEFT, 24, ALPHABET.substring(0, 20), "0123456789", "xyz");
    assertEquals("HIJKLMNOPQRST", decode(ds.pair(0).prompt()));  // 24 - 1 readout - 10 chosen = 13: the last 13
    assertEquals("0123456789", decode(ds.pair(0).chosen()));
    assertEquals(24, ds.pair(0).maxSequenceLength());
  }

  @Test
  void responseRightKeepsExactlyTheFirstTokensOfANonUniformResponse() {
    EncodedDataset ds = one(Truncation.RESPONSE_RIGHT, 24, "pq", ALPHABET.substring(0, 30), "zyx");
    assertEquals("ABCDEFGHIJKLMNOPQRSTU", decode(ds.pair(0).chosen()));  // 24 - 1 readout - 2 prompt = 21: the first 21
    assertEquals("zyx", decode(ds.pair(0).rejected()));
    assertEquals("pq", decode(ds.pair(0).prompt()));
    assertEquals(24, ds.pair(0).maxSequenceLength());
  }

  /**
   * --max_length is inclusive: a pair whose longest sequence (prompt + longer response + readout) is
   * exactly max_length, or one less, is kept as is; one more is dropped (drop), loses exactly its first
   * prompt token (prompt_left) or its last response token (response_right). The longer response is the
   * rejected one here, so a limit checked on the chosen side only also fails.
   */
  @ParameterizedTest(name = "{0}, longest = max_length {1}")
  @CsvSource({"DROP,-1", "DROP,0", "DROP,1", "PROMPT_LEFT,-1", "PROMPT_LEFT,0", "PROMPT_LEFT,1",
      "RESPONSE_RIGHT,-1", "RESPONSE_RIGHT,0", "RESPONSE_RIGHT,1"})
  void sequenceLengthLimitIsExactAtMaxLength(Truncation t, int over) {
    int max = 16;
    String prompt = ALPHABET.substring(0, 5), chosen = "0123";
    String rejected = ALPHABET.substring(26, 26 + max - 1 - prompt.length() + over);  // longest = max + over
    EncodedDataset ds = one(t, max, prompt, chosen, rejected);
    DatasetStats st = ds.report().datasets().get(0);
    if (over <= 0) {
      assertEquals(2, ds.size(), "kept");
      assertEquals(prompt, decode(ds.pair(0).prompt()));
      assertEquals(rejected, decode(ds.pair(0).rejected()));
      assertEquals(max + over, ds.pair(0).maxSequenceLength());
      assertEquals(0, st.truncatedPrompt() + st.truncatedResponse(), "nothing truncated");
      return;
    }
    switch (t) {
      case DROP -> {
        assertEquals(1, ds.size());
        assertEquals("f", decode(ds.pair(0).prompt()));
        assertEquals(Map.of("too_long", 1L), st.dropped());
      }
      case PROMPT_LEFT -> {
        assertEquals(prompt.substring(1), decode(ds.pair(0).prompt()));
        assertEquals(rejected, decode(ds.pair(0).rejected()));
        assertEquals(max, ds.pair(0).maxSequenceLength());
        assertEquals(1, st.truncatedPrompt());
      }
      case RESPONSE_RIGHT -> {
        assertEquals(rejected.substring(0, rejected.length() - 1), decode(ds.pair(0).rejected()));
        assertEquals(chosen, decode(ds.pair(0).chosen()));
        assertEquals(max, ds.pair(0).maxSequenceLength());
        assertEquals(1, st.truncatedResponse());
      }
    }
  }

  /**
   * The batch budget at its limit: --max_tokens_per_batch = 2 x --max_length is the smallest accepted
   * (one less is a usage error), and a pair at exactly --max_length on both sides packs (separate layout:
   * 2·prompt + chosen + rejected + 2 readouts) to exactly that budget: kept, one full batch.
   */
  @Test
  void pairAtMaxLengthFillsTheSmallestBudgetExactly() {
    int max = 16;
    String prompt = "ABCDE", chosen = "0123456789", rejected = "abcdefghij";  // 5 + 10 + 1 = 16 on both sides
    DataOptions o = DataOptions.defaults().withMaxLength(max).withMaxTokensPerBatch(2 * max)
        .withLayout(DataOptions.Layout.SEPARATE);
    List<PreferenceRecord> recs = List.of(PreferenceRecord.text(prompt, chosen, rejected, 0, "b:1"));
    EncodedDataset ds = EncodedDataset.fromRecords(recs, new ByteTokenizer(), o);
    assertEquals(1, ds.size());
    assertEquals(Map.of(), ds.report().datasets().get(0).dropped());
    List<PackedBatch> batches = ds.batches(0);
    assertEquals(1, batches.size());
    assertEquals(2 * max, batches.get(0).numTokens());
    assertEquals(max, ds.pair(0).maxSequenceLength());

    DataOptions tooSmall = o.withMaxTokensPerBatch(2 * max - 1);
    assertThrows(io.rewardkit.UsageException.class,
        () -> EncodedDataset.fromRecords(recs, new ByteTokenizer(), tooSmall));
  }

  @Test
  void responseRightDropsPairsThatBecomeIdentical() {
    DataOptions o = DataOptions.defaults().withMaxLength(8).withMaxTokensPerBatch(64).withTruncation(Truncation.RESPONSE_RIGHT);
    EncodedDataset ds = EncodedDataset.fromRecords(List.of(
        PreferenceRecord.text("p", "same prefix A", "same prefix B", 0, "x:1"),
        PreferenceRecord.text("p", "ab", "cd", 0, "x:2")), new ByteTokenizer(), o);
    assertEquals(1, ds.size());
    assertEquals(Map.of("identical_after_truncation", 1L), ds.report().datasets().get(0).dropped());
  }
}
