package io.rewardkit.data;

import io.rewardkit.RewardKitException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Every option of the data pipeline (reading, templating, tokenizing, truncating, packing).
 *
 * <p>Build with {@link #defaults()} and the {@code withX} copies; {@link #validate()} is called by
 * the pipeline once at its entry. {@link #cacheKey()} is the subset that changes the bytes of a
 * prepared cache; a cache whose manifest disagrees with it is refused.
 *
 * @param format           record format, or AUTO to detect it per file from its first record
 * @param promptKey        JSON field of the prompt (string or message list)
 * @param chosenKey        JSON field of the preferred response
 * @param rejectedKey      JSON field of the dispreferred response
 * @param marginKey        JSON field of an optional numeric margin (absent field: margin 0)
 * @param ratingKey        JSON field of an optional rating label mapped through ratingMargins (null: off)
 * @param ratingMargins    rating label (case-insensitive) to margin, e.g. {@link #LLAMA2_RATING_MARGINS}
 * @param chatTemplate     "auto" (tokenizer's template for message data), "none", or a .jinja file path
 * @param rewardToken      readout token appended to every sequence (id or token string), or null to
 *                         read out at the sequence's final EOS
 * @param maxLength        longest sequence (prompt + response + readout) in tokens
 * @param truncation       what to do with a pair whose sequence exceeds maxLength
 * @param layout           packed layout handed to the model
 * @param maxTokensPerBatch token budget of one packed batch (slots)
 * @param seed             seed of the shuffles (pair order per epoch, eval split)
 * @param onBadRecord      FAIL on the first bad record (default) or SKIP and count it
 * @param maxRecordBytes   largest accepted JSON record (a JSONL line or JSON-array element) in bytes
 * @param scoreKeys        "chosenScoreField,rejectedScoreField": margin = chosen score - rejected score
 *                         (UltraFeedback's score_chosen,score_rejected; Tulu's chosen_rating,rejected_rating); null: off
 * @param datasetSplit     split to read from a Hub-cache snapshot or save_to_disk DatasetDict (null: train)
 * @param datasetConfig    config (subset) of a Hub-cache snapshot with several (null: the default one)
 */
public record DataOptions(
    Format format,
    String promptKey,
    String chosenKey,
    String rejectedKey,
    String marginKey,
    String ratingKey,
    Map<String, Float> ratingMargins,
    String chatTemplate,
    String rewardToken,
    int maxLength,
    Truncation truncation,
    Layout layout,
    int maxTokensPerBatch,
    long seed,
    OnBadRecord onBadRecord,
    int maxRecordBytes,
    String scoreKeys,
    String datasetSplit,
    String datasetConfig) {

  /** Record formats (see {@link RecordParser}). */
  public enum Format {
    AUTO("auto"),
    /** {"chosen": "\n\nHuman: ..\n\nAssistant: ..", "rejected": ..}: prompt = shared prefix. */
    HH_RLHF("hh-rlhf"),
    /** {"prompt": str, "chosen": str, "rejected": str}. */
    TEXT("text"),
    /** {"prompt": [messages] or str, "chosen": [assistant messages], "rejected": [..]} (TRL/XTuner). */
    MESSAGES("messages"),
    /** {"chosen": [full conversation], "rejected": [..]}: prompt = all before the last assistant turn. */
    CONVERSATION("conversation"),
    /** NeMo rank format {"context": .., "completions": [{"rank": 0, "completion": ..}, ..]}: best vs next rank. */
    RANKED("ranked");

    public final String cliName;
    Format(String cliName) { this.cliName = cliName; }

    public static Format parse(String s) {
      for (Format f : values()) if (f.cliName.equalsIgnoreCase(s) || f.name().equalsIgnoreCase(s)) return f;
      throw new RewardKitException("unknown format '" + s + "' (auto, hh-rlhf, text, messages, conversation, ranked)");
    }
  }

  /** Truncation policies for a sequence longer than maxLength. */
  public enum Truncation {
    /** Drop the pair. */
    DROP,
    /** Cut the prompt from the left (keeps the end of the conversation). */
    PROMPT_LEFT,
    /** Cut both responses from the right; the readout token is appended after the cut. */
    RESPONSE_RIGHT;

    public static Truncation parse(String s) {
      try {
        return valueOf(s.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
      } catch (IllegalArgumentException e) {
        throw new RewardKitException("unknown truncation '" + s + "' (drop, prompt_left, response_right)");
      }
    }
  }

  /** Packed layouts, see {@link PackedBatch}. */
  public enum Layout {
    SEPARATE, SHARED_PREFIX;

    public static Layout parse(String s) {
      try {
        return valueOf(s.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
      } catch (IllegalArgumentException e) {
        throw new RewardKitException("unknown layout '" + s + "' (separate, shared_prefix)");
      }
    }
  }

  public enum OnBadRecord {
    FAIL, SKIP;

    public static OnBadRecord parse(String s) {
      try {
        return valueOf(s.trim().toUpperCase(java.util.Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new RewardKitException("unknown on_bad_record '" + s + "' (fail, skip)");
      }
    }
  }

  /**
   * Llama 2's four-level preference ratings mapped to its larger margin set (paper, table 28):
   * significantly better 3, better 2, slightly better 1, negligibly better / unsure 0.
   */
  public static final Map<String, Float> LLAMA2_RATING_MARGINS = Map.of(
      "significantly better", 3f, "better", 2f, "slightly better", 1f,
      "negligibly better", 0f, "unsure", 0f);

  public static final int DEFAULT_MAX_RECORD_BYTES = 16 << 20;

  public DataOptions {
    ratingMargins = ratingMargins == null ? Map.of() : Map.copyOf(lowerKeys(ratingMargins));
  }

  private static Map<String, Float> lowerKeys(Map<String, Float> m) {
    Map<String, Float> out = new LinkedHashMap<>();
    m.forEach((k, v) -> out.put(k.trim().toLowerCase(java.util.Locale.ROOT), v));
    return out;
  }

  /** The registry's defaults (see {@link io.rewardkit.config.Options}). */
  public static DataOptions defaults() {
    return from(name -> io.rewardkit.config.Options.get(name).defaultValue());
  }

  /** The names of the data options, as on the command line and in manifests. */
  public static final java.util.List<String> NAMES = java.util.List.of("format", "prompt_key", "chosen_key", "rejected_key",
      "margin_key", "rating_key", "rating_margins", "chat_template", "reward_token", "max_length", "truncation", "layout",
      "max_tokens_per_batch", "seed", "on_bad_record", "max_record_bytes", "score_keys", "dataset_split", "dataset_config");

  /** Builds from typed option values by registry name (one mapping for CLI, YAML, caches and checkpoints). */
  public static DataOptions from(java.util.function.Function<String, Object> v) {
    return new DataOptions(Format.parse((String) v.apply("format")), (String) v.apply("prompt_key"),
        (String) v.apply("chosen_key"), (String) v.apply("rejected_key"), (String) v.apply("margin_key"),
        (String) v.apply("rating_key"), parseRatingMargins((String) v.apply("rating_margins")),
        (String) v.apply("chat_template"), (String) v.apply("reward_token"), ((Number) v.apply("max_length")).intValue(),
        Truncation.parse((String) v.apply("truncation")), Layout.parse((String) v.apply("layout")),
        ((Number) v.apply("max_tokens_per_batch")).intValue(), ((Number) v.apply("seed")).longValue(),
        OnBadRecord.parse((String) v.apply("on_bad_record")), ((Number) v.apply("max_record_bytes")).intValue(),
        (String) v.apply("score_keys"), (String) v.apply("dataset_split"), (String) v.apply("dataset_config"));
  }

  /** Typed values by registry name, the inverse of {@link #from}. */
  public Map<String, Object> values() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("format", format.cliName);
    m.put("prompt_key", promptKey);
    m.put("chosen_key", chosenKey);
    m.put("rejected_key", rejectedKey);
    m.put("margin_key", marginKey);
    m.put("rating_key", ratingKey);
    m.put("rating_margins", ratingMarginsText());
    m.put("chat_template", chatTemplate);
    m.put("reward_token", rewardToken);
    m.put("max_length", maxLength);
    m.put("truncation", truncation.name().toLowerCase(java.util.Locale.ROOT));
    m.put("layout", layout.name().toLowerCase(java.util.Locale.ROOT));
    m.put("max_tokens_per_batch", maxTokensPerBatch);
    m.put("seed", seed);
    m.put("on_bad_record", onBadRecord.name().toLowerCase(java.util.Locale.ROOT));
    m.put("max_record_bytes", maxRecordBytes);
    m.put("score_keys", scoreKeys);
    m.put("dataset_split", datasetSplit);
    m.put("dataset_config", datasetConfig);
    return m;
  }

  /** rating_margins as the option takes it ("label=margin,..." sorted), or null when empty. */
  public String ratingMarginsText() {
    if (ratingMargins.isEmpty()) return null;
    StringBuilder b = new StringBuilder();
    new TreeMap<>(ratingMargins).forEach((k, v) -> b.append(b.length() == 0 ? "" : ",").append(k).append('=').append(v));
    return b.toString();
  }

  /**
   * The reward-token value that means "append nothing, read the reward at the sequence's last token"
   * (transformers' rule), used for HF reward models without a rewardkit.json. Not a token string.
   */
  public static final String READ_LAST_TOKEN = "\u0000last-token";

  /** True when the reward is read at each sequence's own last token (see {@link #READ_LAST_TOKEN}). */
  public boolean readsLastToken() { return READ_LAST_TOKEN.equals(rewardToken); }

  /**
   * A copy with one option (by registry name) changed. The with-methods go through {@link #values()} and
   * {@link #from}, so a new field is added to the constructor, those two and nothing else.
   */
  private DataOptions with(String name, Object value) {
    Map<String, Object> m = values();
    m.put(name, value);
    return from(m::get);
  }

  public DataOptions withFormat(Format v) { return with("format", v.cliName); }
  public DataOptions withKeys(String prompt, String chosen, String rejected) { return with("prompt_key", prompt).with("chosen_key", chosen).with("rejected_key", rejected); }
  public DataOptions withMarginKey(String v) { return with("margin_key", v); }
  public DataOptions withRating(String key, Map<String, Float> margins) { return new DataOptions(format, promptKey, chosenKey, rejectedKey, marginKey, key, margins, chatTemplate, rewardToken, maxLength, truncation, layout, maxTokensPerBatch, seed, onBadRecord, maxRecordBytes, scoreKeys, datasetSplit, datasetConfig); }
  public DataOptions withChatTemplate(String v) { return with("chat_template", v); }
  public DataOptions withRewardToken(String v) { return with("reward_token", v); }
  public DataOptions withMaxLength(int v) { return with("max_length", v); }
  public DataOptions withTruncation(Truncation v) { return with("truncation", v.name()); }
  public DataOptions withLayout(Layout v) { return with("layout", v.name()); }
  public DataOptions withMaxTokensPerBatch(int v) { return with("max_tokens_per_batch", v); }
  public DataOptions withSeed(long v) { return with("seed", v); }
  public DataOptions withOnBadRecord(OnBadRecord v) { return with("on_bad_record", v.name()); }
  public DataOptions withScoreKeys(String v) { return with("score_keys", v); }
  public DataOptions withDatasetSplit(String v) { return with("dataset_split", v); }
  public DataOptions withDatasetConfig(String v) { return with("dataset_config", v); }
  public DataOptions withMaxRecordBytes(int v) { return with("max_record_bytes", v); }

  /** Checks the values with the registry's validator (the one the command line uses). */
  public DataOptions validate() {
    if (format == null || truncation == null || layout == null || onBadRecord == null) {
      throw new RewardKitException("data options: format, truncation, layout and on_bad_record must be set");
    }
    io.rewardkit.config.OptionValues v = new io.rewardkit.config.OptionValues(io.rewardkit.config.Cmd.PREPARE);
    values().forEach((k, x) -> {
      io.rewardkit.config.Options.get(k).check(x, "--" + k);
      v.give(k, x, "data options");
    });
    v.give("dataset", java.util.List.of("-"), "data options"); // validated where the inputs are read
    v.give("output_dir", "-", "data options");
    io.rewardkit.config.Options.validate(v);
    for (Map.Entry<String, Float> e : ratingMargins.entrySet()) {
      if (!Float.isFinite(e.getValue())) throw new io.rewardkit.UsageException("rating margin for '" + e.getKey() + "' is not finite");
    }
    if (scoreKeys != null) scoreKeyPair();
    return this;
  }

  /** Options that determine a prepared cache's bytes, as strings (for its manifest). */
  public Map<String, String> cacheKey() {
    Map<String, String> m = new TreeMap<>();
    values().forEach((k, v) -> m.put(k, String.valueOf(v)));
    return m;
  }

  /** The two fields of --score_keys (chosen, rejected). */
  public String[] scoreKeyPair() {
    String[] p = scoreKeys.split(",");
    if (p.length != 2 || p[0].isBlank() || p[1].isBlank()) {
      throw new io.rewardkit.UsageException("--score_keys: expected CHOSEN_FIELD,REJECTED_FIELD (e.g. score_chosen,score_rejected), got '"
          + scoreKeys + "'");
    }
    return new String[] {p[0].trim(), p[1].trim()};
  }

  /** Parses "label=margin,label=margin" or the preset name "llama2". */
  public static Map<String, Float> parseRatingMargins(String spec) {
    if (spec == null || spec.isBlank()) return Map.of();
    if (spec.trim().equalsIgnoreCase("llama2")) return LLAMA2_RATING_MARGINS;
    Map<String, Float> out = new LinkedHashMap<>();
    for (String part : spec.split(",")) {
      int eq = part.lastIndexOf('=');
      if (eq <= 0) throw new io.rewardkit.UsageException("--rating_margins: expected label=number, got '" + part + "'");
      try {
        out.put(part.substring(0, eq).trim(), Float.parseFloat(part.substring(eq + 1).trim()));
      } catch (NumberFormatException e) {
        throw new io.rewardkit.UsageException("--rating_margins: '" + part + "' has no numeric margin");
      }
    }
    return out;
  }
}
