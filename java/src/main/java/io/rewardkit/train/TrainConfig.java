package io.rewardkit.train;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.rewardkit.RewardKitException;
import io.rewardkit.kernels.Backend.RewardLossSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * Every option of a training run, under TRL's names (snake_case in YAML / JSON and on the command
 * line: {@code --learning_rate}). Sources are layered: defaults, then a {@code --config} YAML file,
 * then command-line options ({@link #apply}); {@link #validate} checks the result once.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class TrainConfig {
  // ---- model and data ----
  public String modelNameOrPath;          // HF directory with config.json + safetensors
  public String initConfig;               // HF config.json: random-initialised model
  public String tokenizer;                // tokenizer directory / tokenizer.json (defaults to the model's)
  public List<String> dataset = new ArrayList<>();
  public List<String> evalDataset = new ArrayList<>();
  public double evalSplit = 0.0;          // fraction of the training set held out when no eval_dataset
  public String outputDir = "runs/default";
  public int maxLength = 1024;
  public int maxTokensPerBatch = 8192;
  public String chatTemplate;             // "auto", "none" or a .jinja file (data pipeline default when unset)
  public String rewardToken;              // readout token appended to every sequence (default: EOS)
  public String format;                   // record format (default: auto-detect)
  public String layout = "separate";      // separate | shared_prefix
  public String truncation = "drop";      // drop | prompt_left | response_right
  public String onBadRecord = "fail";     // fail | skip (counted in the data report)
  public String scoreKeys;                // "chosen_field,rejected_field": margin = their difference
  public String datasetSplit;             // split of a Hub-cache / save_to_disk dataset (default train)
  public String datasetConfig;            // config of a Hub-cache dataset (default: its default)
  public int syntheticTrainPairs = 24000; // embedded default task only
  public int syntheticEvalPairs = 500;
  // ---- optimisation ----
  public int gradientAccumulationSteps = 1;
  public double learningRate = 1e-5;
  public String lrSchedulerType = "linear";
  public double warmupRatio = 0.0;
  public int warmupSteps = 0;
  public double minLrRate = 0.1;          // cosine_with_min_lr: floor as a fraction of learning_rate
  public double weightDecay = 0.0;
  public double adamBeta1 = 0.9;
  public double adamBeta2 = 0.999;
  public double adamEpsilon = 1e-8;
  public double maxGradNorm = 1.0;        // <= 0 disables clipping
  public double numTrainEpochs = 1.0;
  public int maxSteps = -1;               // > 0 overrides num_train_epochs
  // ---- loss ----
  public String lossType = "ranking";     // ranking | focal
  public double focalGamma = 2.0;
  public String penaltyType = "none";     // none | log_barrier | l2
  public double penaltyWeight = 0.0;
  public double penaltyLower = -5.0;
  public double penaltyUpper = 5.0;
  public double centerRewardsCoefficient = 0.0;
  // ---- bookkeeping ----
  public int loggingSteps = 10;
  public int evalSteps = 0;               // 0: evaluate at the end only
  public int saveSteps = 500;             // 0: save at the end only
  public int saveTotalLimit = 2;          // checkpoints kept (<= 0: all)
  public long seed = 42;
  public String device = "cpu";
  public int threads = 0;                 // CPU threads (0: all cores; the embedded default uses 1)
  public String resume;                   // "latest" or a checkpoint path
  public boolean overwriteOutputDir;      // replace a run already in output_dir (once this one has a checkpoint)
  public boolean report = true;           // plots + HTML at the end
  public String saveDtype = "auto";       // auto (the input checkpoint's) | float32 | bfloat16

  static final ObjectMapper MAPPER = new ObjectMapper()
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY);
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY);

  /**
   * The options a resumed run may change (applied and logged); every other option must equal the
   * checkpoint's. The one place this rule lives.
   */
  public static final Set<String> MAY_CHANGE_ON_RESUME = Set.of("max_steps", "num_train_epochs", "logging_steps",
      "eval_steps", "save_steps", "save_total_limit", "report", "threads");

  /** Options that say how to start, not what the run is: never compared on resume. */
  static final Set<String> NOT_COMPARED = Set.of("resume", "overwrite_output_dir", "output_dir", "embedded_default");

  /** A derived flag that checkpoints written before 0.2 carry in their config; not an option. */
  private static final String LEGACY_DERIVED = "embedded_default";

  /** One option whose value differs between a checkpoint's config and this one. */
  public record Difference(String key, JsonNode before, JsonNode after) {
    public boolean mayChange() { return MAY_CHANGE_ON_RESUME.contains(key); }
    @Override public String toString() {
      return "--" + key + " " + (before == null ? "(unset)" : before.toString()) + " -> " + (after == null ? "(unset)" : after.toString());
    }
  }

  public static String mayChangeOnResume() {
    return MAY_CHANGE_ON_RESUME.stream().sorted().map(k -> "--" + k).collect(java.util.stream.Collectors.joining(", "));
  }

  /**
   * Field-by-field differences between a saved config (a checkpoint's trainer_state.json) and
   * now; a key absent from the saved config (unset, or written before the option existed) counts
   * as its default.
   */
  public static List<Difference> differences(JsonNode saved, TrainConfig now) {
    JsonNode cur = MAPPER.valueToTree(now), defaults = MAPPER.valueToTree(new TrainConfig());
    java.util.TreeSet<String> keys = new java.util.TreeSet<>();
    saved.fieldNames().forEachRemaining(keys::add);
    cur.fieldNames().forEachRemaining(keys::add);
    List<Difference> out = new ArrayList<>();
    for (String k : keys) {
      if (NOT_COMPARED.contains(k)) continue;
      JsonNode a = saved.has(k) ? saved.get(k) : defaults.get(k), b = cur.get(k);
      if (a != null && a.isNull()) a = null;
      if (!same(a, b)) out.add(new Difference(k, a, b));
    }
    return out;
  }

  /** JSON equality with numbers compared by value (a long 42 read back as an int 42 is the same option value). */
  private static boolean same(JsonNode a, JsonNode b) {
    if (a == null || b == null) return a == b;
    if (a.isNumber() && b.isNumber()) return a.decimalValue().compareTo(b.decimalValue()) == 0;
    return a.equals(b);
  }

  /** A config from its JSON form (train_config.json, a checkpoint's trainer_state.json "config"). */
  public static TrainConfig fromJson(JsonNode json) {
    try {
      JsonNode j = json.deepCopy();
      if (j instanceof com.fasterxml.jackson.databind.node.ObjectNode o) o.remove(LEGACY_DERIVED);
      return MAPPER.treeToValue(j, TrainConfig.class);
    } catch (IOException e) {
      throw new RewardKitException("cannot read the saved training options: " + e.getMessage(), e);
    }
  }

  /** Overlays a YAML file (same keys as the command line, without dashes). */
  public TrainConfig applyYaml(Path file) {
    if (!Files.isRegularFile(file)) throw new RewardKitException("config file not found: " + file);
    try {
      YAML.readerForUpdating(this).readValue(file.toFile());
    } catch (UnrecognizedPropertyException e) {
      throw new RewardKitException(file + ": line " + e.getLocation().getLineNr() + ": unknown key '"
          + e.getPropertyName() + "'");
    } catch (JsonMappingException e) {
      throw new RewardKitException(file + ": " + e.getOriginalMessage()
          + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")"));
    } catch (IOException e) {
      throw new RewardKitException("cannot read config " + file + ": " + e.getMessage(), e);
    }
    return this;
  }

  /** Overlays key/value pairs (keys in snake_case), e.g. the options given on the command line. */
  public TrainConfig apply(Map<String, Object> values) {
    try {
      MAPPER.updateValue(this, values);
    } catch (JsonMappingException e) {
      throw new RewardKitException("bad option: " + e.getOriginalMessage());
    }
    return this;
  }

  public TrainConfig copy() {
    try {
      return MAPPER.readValue(MAPPER.writeValueAsBytes(this), TrainConfig.class);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** True when no model and no dataset were given: the embedded synthetic task runs. */
  @com.fasterxml.jackson.annotation.JsonIgnore
  public boolean isEmbeddedDefault() {
    return modelNameOrPath == null && initConfig == null && dataset.isEmpty();
  }

  public RewardLossSpec lossSpec() {
    int loss = switch (lossType) {
      case "ranking", "bt", "bradley_terry" -> RewardLossSpec.RANKING;
      case "focal" -> RewardLossSpec.FOCAL;
      default -> throw new RewardKitException("loss_type must be ranking or focal, got '" + lossType + "'");
    };
    int penalty = switch (penaltyType) {
      case "none" -> RewardLossSpec.NO_PENALTY;
      case "log_barrier" -> RewardLossSpec.LOG_BARRIER;
      case "l2", "L2" -> RewardLossSpec.L2;
      default -> throw new RewardKitException("penalty_type must be none, log_barrier or l2, got '" + penaltyType + "'");
    };
    return new RewardLossSpec(loss, focalGamma, penalty, penalty == RewardLossSpec.NO_PENALTY ? 0 : penaltyWeight,
        penaltyLower, penaltyUpper, centerRewardsCoefficient);
  }

  public void validate() {
    lossSpec();
    LrSchedule.Type.parse(lrSchedulerType);
    check(!overwriteOutputDir || resume == null || resume.equals("false"), "give --resume or --overwrite_output_dir, not both");
    check(modelNameOrPath == null || initConfig == null, "give --model_name_or_path or --init_config, not both");
    check(!dataset.isEmpty() || isEmbeddedDefault(), "--dataset is required with a model");
    check(maxLength > 1, "max_length must be > 1");
    check(maxTokensPerBatch >= maxLength, "max_tokens_per_batch (" + maxTokensPerBatch + ") must be >= max_length (" + maxLength + ")");
    check(gradientAccumulationSteps >= 1, "gradient_accumulation_steps must be >= 1");
    // Infinity/NaN parse as doubles but are never a usable setting (an infinite lr fails only inside the first step).
    for (var it = MAPPER.valueToTree(this).fields(); it.hasNext(); ) {
      var e = it.next();
      if (e.getValue().isNumber()) check(Double.isFinite(e.getValue().asDouble()), "--" + e.getKey() + " must be a finite number, got " + e.getValue().asText());
    }
    check(learningRate >= 0, "learning_rate must be >= 0");
    check(warmupRatio >= 0 && warmupRatio < 1, "warmup_ratio must be in [0, 1)");
    check(warmupSteps >= 0, "warmup_steps must be >= 0");
    check(minLrRate >= 0 && minLrRate <= 1, "min_lr_rate must be in [0, 1]");
    check(weightDecay >= 0, "weight_decay must be >= 0");
    check(adamBeta1 >= 0 && adamBeta1 < 1 && adamBeta2 >= 0 && adamBeta2 < 1, "adam betas must be in [0, 1)");
    check(adamEpsilon > 0, "adam_epsilon must be > 0");
    check(maxSteps > 0 || numTrainEpochs > 0, "num_train_epochs must be > 0 (or set max_steps)");
    check(focalGamma >= 0, "focal_gamma must be >= 0");
    check(penaltyLower < penaltyUpper, "penalty_lower must be < penalty_upper");
    check(evalSplit >= 0 && evalSplit < 1, "eval_split must be in [0, 1)");
    check(loggingSteps >= 1, "logging_steps must be >= 1");
    check(evalSteps >= 0 && saveSteps >= 0, "eval_steps and save_steps must be >= 0");
    check(threads >= 0, "threads must be >= 0");
    check(saveDtype.equals("auto") || saveDtype.equals("float32") || saveDtype.equals("bfloat16"),
        "save_dtype must be auto, float32 or bfloat16, got '" + saveDtype + "'");
    check(device.equals("cpu") || device.equals("cuda") || device.equals("auto"), "device must be cpu, cuda or auto");
  }

  private static void check(boolean ok, String message) {
    if (!ok) throw new RewardKitException(message);
  }

  public String toJson() {
    try {
      return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(this);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
