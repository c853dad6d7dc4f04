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

  /** Defaults: auto format, HF-style keys, EOS readout, max_length 4096, drop, 16384-token batches. */
  public static DataOptions defaults() {
    return new DataOptions(Format.AUTO, "prompt", "chosen", "rejected", "margin", null, Map.of(),
        "auto", null, 4096, Truncation.DROP, Layout.SEPARATE, 16384, 42L, OnBadRecord.FAIL,
        DEFAULT_MAX_RECORD_BYTES, null, null, null);
  }

  /**
   * The reward-token value that means "append nothing, read the reward at the sequence's last token"
   * (transformers' rule), used for HF reward models without a rewardkit.json. Not a token string.
   */
  public static final String READ_LAST_TOKEN = "\u0000last-token";

  /** True when the reward is read at each sequence's own last token (see {@link #READ_LAST_TOKEN}). */
  public boolean readsLastToken() { return READ_LAST_TOKEN.equals(rewardToken); }

  public DataOptions withFormat(Format v) { return new DataOptions(v, promptKey, chosenKey, rejectedKey, marginKey, ratingKey, ratingMargins, chatTemplate, rewardToken, maxLength, truncation, layout, maxTokensPerBatch, seed, onBadRecord, maxRecordBytes, scoreKeys, datasetSplit, datasetConfig); }
  public DataOptions withKeys(String prompt, String chosen, String rejected) { return new DataOptions(format, prompt, chosen, rejected, marginKey, ratingKey, ratingMargins, chatTemplate, rewardToken, maxLength, truncation, layout, maxTokensPerBatch, seed, onBadRecord, maxRecordBytes, scoreKeys, datasetSplit, datasetConfig); }
  public DataOptions withMarginKey(String v) { return new DataOptions(format, promptKey, chosenKey, rejectedKey, v, ratingKey, ratingMargins, chatTemplate, rewardToken, maxLength, truncation, layout, maxTokensPerBatch, seed, onBadRecord, maxRecordBytes, scoreKeys, datasetSplit, datasetConfig); }
  public DataOptions withRating(String key, Map<String, Float> margins) { return new DataOptions(format, promptKey, chosenKey, rejectedKey, marginKey, key, margins, chatTemplate, rewardToken, maxLength, truncation, layout, maxTokensPerBatch, seed, onBadRecord, maxRecordBytes, scoreKeys, datasetSplit, datasetConfig); }
  public DataOptions withChatTemplate(String v) { return new DataOptions(format, promptKey, chosenKey, rejectedKey, marginKey, ratingKey, ratingMargins, v, rewardToken, maxLength, truncation, layout, maxTokensPerBatch, seed, onBadRecord, maxRecordBytes, scoreKeys, datasetSplit, datasetConfig); }
  public DataOptions withRewardToken(String v) { return new DataOptions(format, promptKey, chosenKey, rejectedKey, marginKey, ratingKey, ratingMargins, chatTemplate, v, maxLength, truncation, layout, maxTokensPerBatch, seed, onBadRecord, maxRecordBytes, scoreKeys, datasetSplit, datasetConfig); }
  public DataOptions withMaxLength(int v) { return new DataOptions(format, promptKey, chosenKey, rejectedKey, marginKey, ratingKey, ratingMargins, chatTemplate, rewardToken, v, truncation, layout, maxTokensPerBatch, seed, onBadRecord, maxRecordBytes, scoreKeys, datasetSplit, datasetConfig); }
  public DataOptions withTruncation(Truncation v) { return new DataOptions(format, promptKey, chosenKey, rejectedKey, marginKey, ratingKey, ratingMargins, chatTemplate, rewardToken, maxLength, v, layout, maxTokensPerBatch, seed, onBadRecord, maxRecordBytes, scoreKeys, datasetSplit, datasetConfig); }
  public DataOptions withLayout(Layout v) { return new DataOptions(format, promptKey, chosenKey, rejectedKey, marginKey, ratingKey, ratingMargins, chatTemplate, rewardToken, maxLength, truncation, v, maxTokensPerBatch, seed, onBadRecord, maxRecordBytes, scoreKeys, datasetSplit, datasetConfig); }
  public DataOptions withMaxTokensPerBatch(int v) { return new DataOptions(format, promptKey, chosenKey, rejectedKey, marginKey, ratingKey, ratingMargins, chatTemplate, rewardToken, maxLength, truncation, layout, v, seed, onBadRecord, maxRecordBytes, scoreKeys, datasetSplit, datasetConfig); }
  public DataOptions withSeed(long v) { return new DataOptions(format, promptKey, chosenKey, rejectedKey, marginKey, ratingKey, ratingMargins, chatTemplate, rewardToken, maxLength, truncation, layout, maxTokensPerBatch, v, onBadRecord, maxRecordBytes, scoreKeys, datasetSplit, datasetConfig); }
  public DataOptions withOnBadRecord(OnBadRecord v) { return new DataOptions(format, promptKey, chosenKey, rejectedKey, marginKey, ratingKey, ratingMargins, chatTemplate, rewardToken, maxLength, truncation, layout, maxTokensPerBatch, seed, v, maxRecordBytes, scoreKeys, datasetSplit, datasetConfig); }
  public DataOptions withMaxRecordBytes(int v) { return new DataOptions(format, promptKey, chosenKey, rejectedKey, marginKey, ratingKey, ratingMargins, chatTemplate, rewardToken, maxLength, truncation, layout, maxTokensPerBatch, seed, onBadRecord, v, scoreKeys, datasetSplit, datasetConfig); }
  public DataOptions withScoreKeys(String v) { return new DataOptions(format, promptKey, chosenKey, rejectedKey, marginKey, ratingKey, ratingMargins, chatTemplate, rewardToken, maxLength, truncation, layout, maxTokensPerBatch, seed, onBadRecord, maxRecordBytes, v, datasetSplit, datasetConfig); }
  public DataOptions withDatasetSplit(String v) { return new DataOptions(format, promptKey, chosenKey, rejectedKey, marginKey, ratingKey, ratingMargins, chatTemplate, rewardToken, maxLength, truncation, layout, maxTokensPerBatch, seed, onBadRecord, maxRecordBytes, scoreKeys, v, datasetConfig); }
  public DataOptions withDatasetConfig(String v) { return new DataOptions(format, promptKey, chosenKey, rejectedKey, marginKey, ratingKey, ratingMargins, chatTemplate, rewardToken, maxLength, truncation, layout, maxTokensPerBatch, seed, onBadRecord, maxRecordBytes, scoreKeys, datasetSplit, v); }

  /** Checks option values once; throws {@link RewardKitException} naming the option. */
  public DataOptions validate() {
    if (format == null || truncation == null || layout == null || onBadRecord == null) {
      throw new RewardKitException("data options: format, truncation, layout and on_bad_record must be set");
    }
    for (String[] kv : new String[][] {{"--prompt_key", promptKey}, {"--chosen_key", chosenKey}, {"--rejected_key", rejectedKey}}) {
      if (kv[1] == null || kv[1].isBlank()) throw new RewardKitException(kv[0] + " must not be empty");
    }
    if (chosenKey.equals(rejectedKey)) throw new RewardKitException("--chosen_key and --rejected_key are both '" + chosenKey + "'");
    if (maxLength < 4) throw new RewardKitException("--max_length must be >= 4, got " + maxLength);
    if (maxTokensPerBatch < 2L * maxLength) {
      throw new RewardKitException("--max_tokens_per_batch (" + maxTokensPerBatch + ") must be >= 2 x --max_length ("
          + maxLength + ") so that every kept pair fits in one batch");
    }
    if (maxRecordBytes < 64) throw new RewardKitException("--max_record_bytes must be >= 64, got " + maxRecordBytes);
    if (ratingKey != null && ratingMargins.isEmpty()) {
      throw new RewardKitException("--rating_key " + ratingKey + " needs --rating_margins (e.g. llama2)");
    }
    for (Map.Entry<String, Float> e : ratingMargins.entrySet()) {
      if (!Float.isFinite(e.getValue())) throw new RewardKitException("rating margin for '" + e.getKey() + "' is not finite");
    }
    if (chatTemplate == null || chatTemplate.isBlank()) throw new RewardKitException("--chat_template must be auto, none or a file");
    if (scoreKeys != null) scoreKeyPair();
    return this;
  }

  /** Options that determine a prepared cache's bytes, as sorted strings (for its manifest). */
  public Map<String, String> cacheKey() {
    Map<String, String> m = new TreeMap<>();
    m.put("format", format.cliName);
    m.put("prompt_key", promptKey);
    m.put("chosen_key", chosenKey);
    m.put("rejected_key", rejectedKey);
    m.put("margin_key", String.valueOf(marginKey));
    m.put("rating_key", String.valueOf(ratingKey));
    m.put("rating_margins", new TreeMap<>(ratingMargins).toString());
    m.put("chat_template", chatTemplate);
    m.put("reward_token", String.valueOf(rewardToken));
    m.put("max_length", Integer.toString(maxLength));
    m.put("truncation", truncation.name().toLowerCase(java.util.Locale.ROOT));
    m.put("layout", layout.name().toLowerCase(java.util.Locale.ROOT));
    m.put("max_tokens_per_batch", Integer.toString(maxTokensPerBatch));
    m.put("seed", Long.toString(seed));
    m.put("on_bad_record", onBadRecord.name().toLowerCase(java.util.Locale.ROOT));
    m.put("max_record_bytes", Integer.toString(maxRecordBytes));
    if (scoreKeys != null) m.put("score_keys", scoreKeys); // absent when off: older caches stay valid
    return m;
  }

  /** The two fields of --score_keys (chosen, rejected). */
  public String[] scoreKeyPair() {
    String[] p = scoreKeys.split(",");
    if (p.length != 2 || p[0].isBlank() || p[1].isBlank()) {
      throw new RewardKitException("--score_keys: expected CHOSEN_FIELD,REJECTED_FIELD (e.g. score_chosen,score_rejected), got '" + scoreKeys + "'");
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
      if (eq <= 0) throw new RewardKitException("--rating_margins: expected label=number, got '" + part + "'");
      try {
        out.put(part.substring(0, eq).trim(), Float.parseFloat(part.substring(eq + 1).trim()));
      } catch (NumberFormatException e) {
        throw new RewardKitException("--rating_margins: '" + part + "' has no numeric margin");
      }
    }
    return out;
  }
}
