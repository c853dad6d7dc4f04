package io.rewardkit.data;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.rewardkit.data.DataOptions.Format;
import io.rewardkit.data.DataOptions.Layout;
import io.rewardkit.data.DataOptions.OnBadRecord;
import io.rewardkit.data.DataOptions.Truncation;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** Each with-method changes its own option and nothing else, from defaults and from non-default options. */
class DataOptionsWithTest {

  static void assertChangesOnly(DataOptions base, UnaryOperator<DataOptions> with, Map<String, Object> expected) {
    Map<String, Object> want = new LinkedHashMap<>(base.values());
    want.putAll(expected);
    assertEquals(want, with.apply(base).values(), "changed " + expected.keySet());
  }

  static void checkAll(DataOptions b) {
    assertChangesOnly(b, o -> o.withFormat(Format.MESSAGES), Map.of("format", "messages"));
    assertChangesOnly(b, o -> o.withKeys("q", "good", "bad"), Map.of("prompt_key", "q", "chosen_key", "good", "rejected_key", "bad"));
    assertChangesOnly(b, o -> o.withMarginKey("m"), Map.of("margin_key", "m"));
    assertChangesOnly(b, o -> o.withChatTemplate("none"), Map.of("chat_template", "none"));
    assertChangesOnly(b, o -> o.withRewardToken("<rm>"), Map.of("reward_token", "<rm>"));
    assertChangesOnly(b, o -> o.withMaxLength(77), Map.of("max_length", 77));
    assertChangesOnly(b, o -> o.withTruncation(Truncation.PROMPT_LEFT), Map.of("truncation", "prompt_left"));
    assertChangesOnly(b, o -> o.withLayout(Layout.SHARED_PREFIX), Map.of("layout", "shared_prefix"));
    assertChangesOnly(b, o -> o.withMaxTokensPerBatch(999), Map.of("max_tokens_per_batch", 999));
    assertChangesOnly(b, o -> o.withSeed(5), Map.of("seed", 5L));
    assertChangesOnly(b, o -> o.withOnBadRecord(OnBadRecord.SKIP), Map.of("on_bad_record", "skip"));
    assertChangesOnly(b, o -> o.withScoreKeys("a,b"), Map.of("score_keys", "a,b"));
    assertChangesOnly(b, o -> o.withDatasetSplit("test"), Map.of("dataset_split", "test"));
    assertChangesOnly(b, o -> o.withDatasetConfig("cfg"), Map.of("dataset_config", "cfg"));
    assertChangesOnly(b, o -> o.withMaxRecordBytes(4096), Map.of("max_record_bytes", 4096));
  }

  @Test void eachWithChangesOnlyItsOption() {
    checkAll(DataOptions.defaults());
    // non-default everywhere, rating margins included, so nothing is silently reset to a default
    checkAll(DataOptions.defaults().withRating("rating", DataOptions.parseRatingMargins("Better=1,Much better=3.5"))
        .withMarginKey("mk").withLayout(Layout.SHARED_PREFIX).withSeed(9).withMaxLength(321).withDatasetSplit("x"));
  }
}
