package io.rewardkit.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.ByteTokenizer;
import io.rewardkit.data.DataOptions;
import io.rewardkit.data.DataPipeline;
import io.rewardkit.data.EncodedDataset;
import io.rewardkit.data.HfTokenizer;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.data.PreferenceRecord;
import io.rewardkit.data.Tokenizer;
import io.rewardkit.kernels.Backend;
import io.rewardkit.model.ModelConfig;
import io.rewardkit.model.RewardModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Turns a {@link TrainConfig} into the pieces of a run: tokenizer, data options, train/eval sets,
 * model and checkpoint content; and reopens a saved checkpoint for eval/score with the same
 * tokenizer and data options (from its rewardkit.json manifest).
 */
public final class RunSetup {
  private RunSetup() {}

  /** Files copied from a tokenizer directory into every checkpoint. */
  static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
      "special_tokens_map.json", "chat_template.jinja", "vocab.json", "merges.txt", "tokenizer.model");

  /** The tiny model of the embedded default run (byte vocabulary). */
  public static final String DEFAULT_MODEL_CONFIG = "{\"model_type\": \"llama\", \"hidden_size\": 64, "
      + "\"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 4, "
      + "\"vocab_size\": " + ByteTokenizer.VOCAB_SIZE + ", \"max_position_embeddings\": 64, \"rms_norm_eps\": 1e-6, "
      + "\"rope_theta\": 10000.0, \"initializer_range\": 0.02, \"pad_token_id\": " + ByteTokenizer.PAD
      + ", \"eos_token_id\": " + ByteTokenizer.EOS + ", \"tie_word_embeddings\": false}";

  /** The embedded default's training options (applied before --config and command-line options). */
  public static TrainConfig embeddedDefaults() {
    TrainConfig c = new TrainConfig();
    c.outputDir = "runs/default";
    c.maxLength = 48;
    c.maxTokensPerBatch = 640;
    c.layout = "shared_prefix";
    c.learningRate = 3e-3;
    c.lrSchedulerType = "cosine";
    c.warmupRatio = 0.05;
    c.weightDecay = 0.0;
    c.numTrainEpochs = 1;
    c.loggingSteps = 25;
    c.evalSteps = 100;
    c.saveSteps = 200;
    c.saveTotalLimit = 1;
    c.syntheticTrainPairs = 24000;
    c.syntheticEvalPairs = 500;
    // A 100k-parameter model's kernels are shorter than an OpenMP barrier on a busy machine.
    c.threads = 1;
    return c;
  }

  public static Tokenizer tokenizer(TrainConfig c) {
    if (c.isEmbeddedDefault() || "byte".equals(c.tokenizer)) return new ByteTokenizer();
    Path dir = c.tokenizer != null ? Path.of(c.tokenizer) : c.modelNameOrPath != null ? Path.of(c.modelNameOrPath) : null;
    if (dir == null) {
      throw new RewardKitException("--init_config needs --tokenizer (a directory with tokenizer.json, or 'byte')");
    }
    return HfTokenizer.load(dir);
  }

  public static DataOptions dataOptions(TrainConfig c) {
    DataOptions o = DataOptions.defaults().withMaxLength(c.maxLength).withMaxTokensPerBatch(c.maxTokensPerBatch)
        .withSeed(c.seed).withLayout(DataOptions.Layout.parse(c.layout))
        .withTruncation(DataOptions.Truncation.parse(c.truncation))
        .withOnBadRecord(DataOptions.OnBadRecord.parse(c.onBadRecord));
    if (c.chatTemplate != null) o = o.withChatTemplate(c.chatTemplate);
    if (c.rewardToken != null) o = o.withRewardToken(c.rewardToken);
    if (c.format != null) o = o.withFormat(DataOptions.Format.parse(c.format));
    if (c.scoreKeys != null) o = o.withScoreKeys(c.scoreKeys);
    if (c.datasetSplit != null) o = o.withDatasetSplit(c.datasetSplit);
    if (c.datasetConfig != null) o = o.withDatasetConfig(c.datasetConfig);
    return o;
  }

  /** Train and eval sets of a run. */
  public record Data(EncodedDataset train, EncodedDataset eval, List<String> trainNames, List<String> evalNames) {}

  public static Data data(TrainConfig c, Tokenizer tok, DataOptions options) {
    if (c.isEmbeddedDefault()) {
      EncodedDataset train = EncodedDataset.fromRecords(records(SyntheticTask.generate(c.syntheticTrainPairs, c.seed)), tok, options);
      EncodedDataset eval = EncodedDataset.fromRecords(records(SyntheticTask.generate(c.syntheticEvalPairs, c.seed + 1_000_003)), tok, options);
      return new Data(train, eval, List.of("synthetic-copy"), List.of("synthetic-copy"));
    }
    List<Path> inputs = c.dataset.stream().map(Path::of).toList();
    EncodedDataset all = DataPipeline.loadOrOpen(inputs, options, tok, DataPipeline.Progress.NONE);
    List<String> names = datasetNames(c.dataset);
    if (!c.evalDataset.isEmpty()) {
      EncodedDataset eval = DataPipeline.loadOrOpen(c.evalDataset.stream().map(Path::of).toList(), options, tok, DataPipeline.Progress.NONE);
      return new Data(all, eval, names, datasetNames(c.evalDataset));
    }
    if (c.evalSplit > 0) {
      EncodedDataset.Split s = all.split(c.evalSplit);
      return new Data(s.train(), s.eval(), names, names);
    }
    return new Data(all, null, names, List.of());
  }

  static List<PreferenceRecord> records(List<SyntheticTask.Example> ex) {
    List<PreferenceRecord> out = new ArrayList<>(ex.size());
    for (int i = 0; i < ex.size(); i++) {
      SyntheticTask.Example e = ex.get(i);
      out.add(PreferenceRecord.text(e.prompt(), e.chosen(), e.rejected(), 0f, "synthetic:" + i));
    }
    return out;
  }

  public static List<String> datasetNames(List<String> paths) {
    List<String> out = new ArrayList<>();
    for (String p : paths) {
      String n = Path.of(p).getFileName().toString().replaceAll("\\.(jsonl|json|parquet|arrow)(\\.gz)?$", "");
      String base = n;
      for (int k = 2; out.contains(n); k++) n = base + "_" + k;
      out.add(n);
    }
    return out;
  }

  /** A PairSource over an encoded dataset: training batches per epoch, eval batches in epoch 0's plan. */
  public static PairSource source(EncodedDataset ds, List<String> names) {
    return new PairSource() {
      List<PackedBatch> evalCache;
      String fingerprint;
      @Override public String fingerprint() {
        if (fingerprint == null) fingerprint = ds.fingerprint();
        return fingerprint;
      }
      @Override public List<String> datasetNames() { return names; }
      @Override public int numPairs() { return ds.size(); }
      @Override public List<PackedBatch> trainBatches(int epoch) { return ds.batches(epoch); }
      @Override public List<PackedBatch> evalBatches() {
        if (evalCache == null) evalCache = ds.batches(0);
        return evalCache;
      }
    };
  }

  /**
   * The options of the run --resume continues: the "config" of the newest checkpoint whose
   * trainer_state.json reads (or of the checkpoint named). Which checkpoint is actually used is
   * decided under the lock by the Trainer, which verifies it; all checkpoints of a run share these
   * options except the ones allowed to change on resume.
   */
  public static com.fasterxml.jackson.databind.JsonNode savedConfig(Path outputDir, String resume) {
    List<Path> cks;
    if (resume.equals("latest") || resume.equals("true")) {
      if (!Files.isDirectory(outputDir)) throw new RewardKitException("--resume: " + outputDir + " does not exist (check --output_dir)");
      cks = new ArrayList<>(Checkpoints.list(outputDir));
      java.util.Collections.reverse(cks);
      if (cks.isEmpty()) {
        boolean started = Files.exists(outputDir.resolve("train_config.json")) || Files.exists(outputDir.resolve("metrics.jsonl"));
        throw new RewardKitException("--resume: " + outputDir + " holds no checkpoint to resume from"
            + (started ? " (the run there stopped before its first checkpoint: start it again without --resume)"
                : " (check --output_dir; without --resume a new run starts there)"));
      }
    } else {
      cks = List.of(Path.of(resume));
    }
    for (Path ck : cks) {
      Path st = ck.resolve(Checkpoints.TRAINER_STATE);
      if (!Files.isRegularFile(st)) continue;
      try {
        com.fasterxml.jackson.databind.JsonNode cfg = Checkpoints.readJson(st).get("config");
        if (cfg != null && cfg.isObject()) return cfg;
      } catch (RewardKitException damaged) {
        // an older checkpoint of the same run carries the same options
      }
    }
    throw new RewardKitException("--resume " + (cks.size() == 1 ? cks.get(0) : outputDir)
        + ": no readable " + Checkpoints.TRAINER_STATE + " with the run's options");
  }

  /** Applies --threads on the CPU backend (0 leaves the default: all cores). */
  public static void applyThreads(TrainConfig c, Backend backend) {
    if (c.threads > 0 && backend instanceof io.rewardkit.kernels.CpuBackend) io.rewardkit.kernels.cpu.CpuThreads.set(c.threads);
  }

  /** Where the run's model config comes from, for messages. */
  static String modelConfigSource(TrainConfig c) {
    if (c.modelNameOrPath != null) return Path.of(c.modelNameOrPath).resolve("config.json").toString();
    return c.initConfig != null ? c.initConfig : "the embedded default model config";
  }

  /** The model config the run will use (read only; nothing is allocated). */
  public static ModelConfig modelConfig(TrainConfig c) {
    if (c.modelNameOrPath != null) return ModelConfig.load(Path.of(c.modelNameOrPath));
    return c.initConfig != null ? ModelConfig.load(Path.of(c.initConfig)) : ModelConfig.parse(DEFAULT_MODEL_CONFIG, "embedded default model config");
  }

  /**
   * Checks that the tokenizer and --max_length fit the model before anything is allocated or
   * written (otherwise they surface as an out-of-range token or position inside the first step).
   */
  public static void checkFits(TrainConfig c, ModelConfig mc, Tokenizer tok) {
    String src = modelConfigSource(c);
    if (mc.vocabSize() < tok.vocabSize()) {
      throw new RewardKitException(src + ": vocab_size " + mc.vocabSize() + " is smaller than the tokenizer's " + tok.vocabSize()
          + " ids (" + (c.tokenizer != null ? "--tokenizer " + c.tokenizer : "the model's tokenizer")
          + "): use the tokenizer the model was trained with");
    }
    if (c.maxLength > mc.maxPositionEmbeddings()) {
      throw new RewardKitException("--max_length " + c.maxLength + " is above max_position_embeddings " + mc.maxPositionEmbeddings()
          + " of " + src + ": lower --max_length to at most " + mc.maxPositionEmbeddings());
    }
  }

  public static RewardModel model(TrainConfig c, Tokenizer tok, Backend backend) {
    if (c.modelNameOrPath != null) return RewardModel.fromPretrained(Path.of(c.modelNameOrPath), backend, backend.computeType(), c.seed);
    ModelConfig mc = c.initConfig != null ? ModelConfig.load(Path.of(c.initConfig))
        : ModelConfig.parse(DEFAULT_MODEL_CONFIG, "embedded default model config");
    if (mc.vocabSize() < tok.vocabSize()) {
      throw new RewardKitException((c.initConfig == null ? "model config" : c.initConfig) + ": vocab_size " + mc.vocabSize()
          + " is smaller than the tokenizer's " + tok.vocabSize() + " ids");
    }
    return RewardModel.randomInit(mc, backend, c.seed);
  }

  public static CheckpointContent content(TrainConfig c, Tokenizer tok, DataOptions o, EncodedDataset train) {
    Map<String, Path> files = new LinkedHashMap<>();
    Path tokDir = null;
    if (!(tok instanceof ByteTokenizer)) {
      Path p = Path.of(c.tokenizer != null ? c.tokenizer : c.modelNameOrPath);
      tokDir = Files.isDirectory(p) ? p : p.toAbsolutePath().getParent();
      for (String f : TOKENIZER_FILES) if (Files.isRegularFile(tokDir.resolve(f))) files.put(f, tokDir.resolve(f));
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("tokenizer", tok instanceof ByteTokenizer ? "byte" : "hf");
    Map<String, Object> readout = new LinkedHashMap<>();
    readout.put("rule", o.rewardToken() == null
        ? "reward read at the final EOS token appended to prompt + response"
        : "reward read at the reward token appended to prompt + response");
    readout.put("reward_token", o.rewardToken() == null ? tok.eosToken() : o.rewardToken());
    readout.put("reward_token_id", train.readoutToken());
    m.put("readout", readout);
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("format", o.format().cliName);
    data.put("chat_template", o.chatTemplate());
    data.put("reward_token", o.rewardToken());
    data.put("max_length", o.maxLength());
    data.put("truncation", o.truncation().name().toLowerCase());
    data.put("layout", o.layout().name().toLowerCase());
    data.put("max_tokens_per_batch", o.maxTokensPerBatch());
    data.put("seed", o.seed());
    data.put("on_bad_record", o.onBadRecord().name().toLowerCase());
    m.put("data", data);
    OptionalInt pad = tok.tokenId("<|pad|>");
    Integer padId = tok instanceof ByteTokenizer ? ByteTokenizer.PAD : pad.isPresent() ? pad.getAsInt()
        : tok.eosTokenId().isPresent() ? tok.eosTokenId().getAsInt() : null;
    return new CheckpointContent(files, padId, m);
  }

  /**
   * What metrics.jsonl's run_start record and the report say about a run's model and data
   * (see {@link Trainer#describe}): the model's source and shape, the input datasets, and per
   * dataset the records read, kept, dropped (with reasons) and truncated, as loading counted them.
   */
  public static Map<String, Object> describe(TrainConfig c, RewardModel model, Tokenizer tok, Data data) {
    Map<String, Object> info = new LinkedHashMap<>();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("source", c.modelNameOrPath != null ? c.modelNameOrPath
        : c.initConfig != null ? c.initConfig + " (random init)" : "embedded default (random init)");
    ModelConfig mc = model.config();
    m.put("model_type", mc.family().modelType());
    m.put("hidden_size", mc.hiddenSize());
    m.put("num_hidden_layers", mc.numHiddenLayers());
    m.put("vocab_size", mc.vocabSize());
    m.put("tokenizer", tok instanceof ByteTokenizer ? "byte" : c.tokenizer != null ? c.tokenizer : c.modelNameOrPath);
    info.put("model", m);
    info.put("datasets", c.isEmbeddedDefault() ? List.of("synthetic-copy (embedded)") : List.copyOf(c.dataset));
    if (!c.evalDataset.isEmpty()) info.put("eval_datasets", List.copyOf(c.evalDataset));
    // per-dataset counts in the shape of DataReport's drop accounting: train, and eval when it has its own files
    Map<String, Object> d = new LinkedHashMap<>();
    if (data.train().report() != null) {
      d.put("train", datasetCounts(data.train().report(), c.isEmbeddedDefault() ? data.trainNames() : null));
    }
    if (data.eval() != null && data.eval().report() != null && data.eval().report() != data.train().report()) {
      d.put("eval", datasetCounts(data.eval().report(), c.isEmbeddedDefault() ? data.evalNames() : null));
    }
    if (c.evalSplit > 0) d.put("eval_split", c.evalSplit);
    info.put("data", d);
    return info;
  }

  /** Per dataset: records read, kept, dropped (invalid or removed by policy) with reasons, truncated. */
  private static List<Map<String, Object>> datasetCounts(io.rewardkit.data.DataReport r, List<String> names) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (io.rewardkit.data.DatasetStats s : r.datasets()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("dataset", names != null && names.size() == r.datasets().size() ? names.get(out.size()) : s.name());
      m.put("read", s.records() + s.badTotal());
      m.put("kept", s.kept());
      m.put("dropped", s.droppedTotal() + s.badTotal());
      Map<String, Long> reasons = new java.util.TreeMap<>(s.bad());
      s.dropped().forEach((k, v) -> reasons.merge(k, v, Long::sum));
      m.put("dropped_by_reason", reasons);
      m.put("truncated", s.truncated());
      out.add(m);
    }
    return out;
  }

  // ---- reopening a checkpoint ---------------------------------------------------------------------

  /** A saved model with the tokenizer and data options it was trained with. */
  public record Loaded(Path dir, RewardModel model, Tokenizer tokenizer, DataOptions options, ObjectNode manifest) {}

  public static Loaded open(Path path, Backend backend) {
    Path dir = Checkpoints.resolveModelDir(path);
    Path mf = dir.resolve(Checkpoints.MANIFEST);
    if (!Files.isRegularFile(mf)) throw new RewardKitException(dir + ": no " + Checkpoints.MANIFEST + " (not a RewardKit checkpoint)");
    Optional<String> bad = Checkpoints.verify(dir);
    if (bad.isPresent() && !bad.get().equals(Checkpoints.LEGACY)) throw new RewardKitException(dir + ": damaged: " + bad.get());
    ObjectNode man = Checkpoints.readJson(mf);
    Tokenizer tok = "byte".equals(man.path("tokenizer").asText()) ? new ByteTokenizer() : HfTokenizer.load(dir);
    ObjectNode d = (ObjectNode) man.get("data");
    DataOptions o = DataOptions.defaults()
        .withFormat(DataOptions.Format.parse(d.path("format").asText("auto")))
        .withMaxLength(d.get("max_length").asInt())
        .withTruncation(DataOptions.Truncation.parse(d.path("truncation").asText("drop")))
        .withLayout(DataOptions.Layout.parse(d.path("layout").asText("separate")))
        .withMaxTokensPerBatch(d.get("max_tokens_per_batch").asInt())
        .withSeed(d.path("seed").asLong(42))
        .withOnBadRecord(DataOptions.OnBadRecord.parse(d.path("on_bad_record").asText("fail")));
    if (d.hasNonNull("chat_template")) o = o.withChatTemplate(d.get("chat_template").asText());
    if (d.hasNonNull("reward_token")) o = o.withRewardToken(d.get("reward_token").asText());
    RewardModel model = RewardModel.fromPretrained(dir, backend);
    return new Loaded(dir, model, tok, o, man);
  }
}
