package io.rewardkit.train;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.rewardkit.RewardKitException;
import io.rewardkit.kernels.Backend.RewardLossSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import com.fasterxml.jackson.databind.JsonNode;
import io.rewardkit.config.Cmd;
import io.rewardkit.config.ConfigFile;
import io.rewardkit.config.Opt;
import io.rewardkit.config.OptionValues;
import io.rewardkit.config.Options;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every option of a training run, under TRL's names (snake_case in YAML / JSON and on the command
 * line: {@code --learning_rate}). Sources are layered: defaults, then a {@code --config} YAML file,
 * then command-line options ({@link #apply}); {@link #validate} checks the result once.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class TrainConfig {
  // Defaults, types and checks of every field are those of the option registry (Options): the
  // constructor fills the registry's defaults, validate() runs its validator.
  // ---- model and data ----
  public String modelNameOrPath;          // HF directory with config.json + safetensors
  public String initConfig;               // HF config.json: random-initialised model
  public String tokenizer;                // tokenizer directory / tokenizer.json (defaults to the model's)
  public List<String> dataset;
  public List<String> evalDataset;
  public double evalSplit;          // fraction of the training set held out when no eval_dataset
  public String outputDir;
  public int maxLength;
  public int maxTokensPerBatch;
  public String chatTemplate;             // "auto", "none" or a .jinja file (data pipeline default when unset)
  public String rewardToken;              // readout token appended to every sequence (default: EOS)
  public String format;                   // record format (auto: detected per file)
  public String promptKey;                // JSON fields of the records
  public String chosenKey;
  public String rejectedKey;
  public String marginKey;
  public String ratingKey;
  public String ratingMargins;
  public int maxRecordBytes;
  public String layout;      // separate | shared_prefix
  public String truncation;      // drop | prompt_left | response_right
  public String onBadRecord;     // fail | skip (counted in the data report)
  public String scoreKeys;                // "chosen_field,rejected_field": margin = their difference
  public String datasetSplit;             // split of a Hub-cache / save_to_disk dataset (default train)
  public String datasetConfig;            // config of a Hub-cache dataset (default: its default)
  public int syntheticTrainPairs; // embedded default task only
  public int syntheticEvalPairs;
  // ---- optimisation ----
  public int gradientAccumulationSteps;
  public double learningRate;
  public String lrSchedulerType;
  public double warmupRatio;
  public int warmupSteps;
  public double minLrRate;          // cosine_with_min_lr: floor as a fraction of learning_rate
  public double weightDecay;
  public double adamBeta1;
  public double adamBeta2;
  public double adamEpsilon;
  public double maxGradNorm;        // <= 0 disables clipping
  public double numTrainEpochs;
  public int maxSteps;               // > 0 overrides num_train_epochs
  public boolean gradientCheckpointing;   // keep layer inputs only, recompute each layer in backward
  public boolean dryRun;                  // print the memory plan and exit
  // ---- LoRA ----
  public boolean usePeft;            // LoRA adapters on a frozen base, score head in full
  public int loraR;
  public int loraAlpha;
  public double loraDropout;         // only 0
  public String loraTargetModules;   // all-linear | q_proj,v_proj,...
  public boolean useRslora;
  // ---- QLoRA ----
  @com.fasterxml.jackson.annotation.JsonProperty("load_in_4bit")
  public boolean loadIn4bit;         // the frozen base's decoder linears stored NF4
  @com.fasterxml.jackson.annotation.JsonProperty("bnb_4bit_quant_type")
  public String bnb4bitQuantType;    // only nf4
  @com.fasterxml.jackson.annotation.JsonProperty("bnb_4bit_use_double_quant")
  public boolean bnb4bitUseDoubleQuant;  // only true
  public boolean mergeLora;          // also write final-merged/ at the end
  // ---- loss ----
  public String lossType;     // ranking | focal
  public double focalGamma;
  public String penaltyType;     // none | log_barrier | l2
  public double penaltyWeight;
  public double penaltyLower;
  public double penaltyUpper;
  public double centerRewardsCoefficient;
  // ---- direct preference optimisation ----
  public String task;                // reward | dpo | ipo | cpo | simpo | orpo | kto
  public double beta;
  public double labelSmoothing;
  public double rpoAlpha;
  public double cpoAlpha;
  public double simpoGamma;
  public double desirableWeight;
  public double undesirableWeight;
  public String refModel;
  // ---- bookkeeping ----
  public int loggingSteps;
  public int evalSteps;               // 0: evaluate at the end only
  public int saveSteps;             // 0: save at the end only
  public int saveTotalLimit;          // checkpoints kept (<= 0: all)
  public long seed;
  public String device;
  public boolean bf16;                // CPU: the linears' GEMMs in bf16 (AVX512-BF16), fp32 accumulation
  public int threads;                 // CPU threads (0: all cores; the embedded default uses 1)
  public String resume;                   // "latest" or a checkpoint path
  public boolean overwriteOutputDir;      // replace a run already in output_dir (once this one has a checkpoint)
  public boolean report;           // plots + HTML at the end
  public String saveDtype;                // auto (the input checkpoint's) | float32 | bfloat16

  static final ObjectMapper MAPPER = new ObjectMapper()
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
      .disable(com.fasterxml.jackson.databind.MapperFeature.ALLOW_COERCION_OF_SCALARS);

  /**
   * The options a resumed run may change (applied and logged); every other option must equal the
   * checkpoint's. The one place this rule lives.
   */
  public static final Set<String> MAY_CHANGE_ON_RESUME = Options.resumable(); // the registry's .resumable() options

  /** Options that say how to start, not what the run is: never compared on resume. */
  static final Set<String> NOT_COMPARED = Set.of("resume", "overwrite_output_dir", "output_dir", "embedded_default", "dry_run");

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

  /** The registry's defaults for train. */
  public TrainConfig() {
    try {
      MAPPER.updateValue(this, fieldValues(new OptionValues(Cmd.TRAIN).asMap()));
    } catch (JsonMappingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The typed values of a command line / config file. */
  public static TrainConfig from(OptionValues v) {
    TrainConfig c = new TrainConfig();
    try {
      MAPPER.updateValue(c, fieldValues(v.asMap()));
    } catch (JsonMappingException e) {
      throw new IllegalStateException(e);
    }
    return c;
  }

  private static Map<String, Object> fieldValues(Map<String, Object> values) {
    Map<String, Object> m = new LinkedHashMap<>(values);
    m.remove("config");
    m.replaceAll((k, x) -> x == null && Options.get(k).type() == Opt.Type.PATHS ? List.of() : x);
    return m;
  }

  /** These options as registry values (every one marked as given). */
  public OptionValues values() {
    OptionValues v = new OptionValues(Cmd.TRAIN);
    JsonNode tree = MAPPER.valueToTree(this);
    for (Opt o : Options.of(Cmd.TRAIN)) {
      JsonNode n = tree.get(o.name());
      if (n != null && n.isArray() && n.isEmpty()) v.give(o.name(), List.of(), "config");
      else if (n != null && !n.isNull()) v.give(o.name(), o.fromYaml(n, "--" + o.name()), "config");
      else if (!o.name().equals("config")) v.give(o.name(), null, "config");
    }
    return v;
  }

  /** Overlays a YAML file (same keys as the command line, without dashes), read strictly. */
  public TrainConfig applyYaml(Path file) {
    OptionValues v = values();
    ConfigFile.apply(file, v, new ArrayList<>());
    return from(v);
  }

  /** Overlays option values given as text by snake_case name (e.g. from a test or a command line). */
  public TrainConfig apply(Map<String, Object> values) {
    OptionValues v = values();
    values.forEach((k, x) -> {
      Opt o = Options.get(k);
      v.give(k, x instanceof List<?> l ? List.copyOf(l) : o.parse(String.valueOf(x), "--" + k), "apply");
    });
    return from(v);
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

  /** The registry's validator: each value's checks, then the rules between options. */
  public void validate() {
    Options.validate(values());
  }

  public String toJson() {
    try {
      return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(this);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
