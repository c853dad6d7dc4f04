package io.rewardkit.data;

import static io.rewardkit.data.DataTestSupport.decode;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.rewardkit.data.DataOptions.Truncation;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

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
