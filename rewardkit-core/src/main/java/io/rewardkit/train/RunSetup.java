package io.rewardkit.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.ByteTokenizer;
import io.rewardkit.data.DataOptions;
import io.rewardkit.data.DataPipeline;
import io.rewardkit.data.EncodedDataset;
import io.rewardkit.data.HfTokenizer;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.data.PreparedCache;
import io.rewardkit.config.Cmd;
import io.rewardkit.config.OptionValues;
import io.rewardkit.config.Options;
import io.rewardkit.data.PadToken;
import io.rewardkit.data.PreferenceRecord;
import io.rewardkit.data.Tokenizer;
import io.rewardkit.kernels.Backend;
import io.rewardkit.model.ModelConfig;
import io.rewardkit.model.RewardModel;
import io.rewardkit.model.lora.LoraAdapters;
import io.rewardkit.model.lora.LoraConfig;
import io.rewardkit.model.lora.PeftAdapter;
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
  public static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
      "special_tokens_map.json", "chat_template.jinja", "vocab.json", "merges.txt", "tokenizer.model");

  /** The tiny model of the embedded default run (byte vocabulary). */
  public static final String DEFAULT_MODEL_CONFIG = "{\"model_type\": \"llama\", \"hidden_size\": 64, "
      + "\"intermediate_size\": 128, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 4, "
      + "\"vocab_size\": " + ByteTokenizer.VOCAB_SIZE + ", \"max_position_embeddings\": 64, \"rms_norm_eps\": 1e-6, "
      + "\"rope_theta\": 10000.0, \"initializer_range\": 0.02, \"pad_token_id\": " + ByteTokenizer.PAD
      + ", \"eos_token_id\": " + ByteTokenizer.EOS + ", \"tie_word_embeddings\": false}";

  /** The embedded default run's options (under --config and command-line options). */
  public static final Map<String, Object> EMBEDDED_DEFAULTS = embedded();

  private static Map<String, Object> embedded() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("max_length", 48);
    m.put("max_tokens_per_batch", 640);
    m.put("layout", "shared_prefix");
    m.put("learning_rate", 3e-3);
    m.put("lr_scheduler_type", "cosine");
    m.put("warmup_ratio", 0.05);
    m.put("logging_steps", 25);
    m.put("eval_steps", 100);
    m.put("save_steps", 200);
    m.put("save_total_limit", 1);
    // A 100k-parameter model's kernels are shorter than an OpenMP barrier on a busy machine.
    m.put("threads", 1);
    return java.util.Collections.unmodifiableMap(m);
  }

  /** Fills the embedded default run's options where the user gave none. */
  public static OptionValues embedded(OptionValues v) {
    EMBEDDED_DEFAULTS.forEach((k, x) -> {
      if (!v.given(k)) v.set(k, x, "embedded default");
    });
    return v;
  }

  /** The embedded default's training options. */
  public static TrainConfig embeddedDefaults() {
    return TrainConfig.from(embedded(new OptionValues(Cmd.TRAIN)));
  }

  /**
   * With one prepared cache as --dataset: its data options replace the defaults (options the user
   * gave must match the cache; the error lists each difference), and its tokenizer is used unless
   * --tokenizer or a model gives one. Prints what it adopted. Returns the cache, or null.
   */
  public static PreparedCache adoptCache(OptionValues v, java.io.PrintStream out) {
    List<String> ds = v.getList("dataset");
    if (ds.size() != 1 || !PreparedCache.isCache(Path.of(ds.get(0)))) return null;
    PreparedCache cache = PreparedCache.open(Path.of(ds.get(0)));
    List<String> diffs = new ArrayList<>();
    List<String> adopted = new ArrayList<>();
    String from = "prepared cache " + ds.get(0);
    for (Map.Entry<String, Object> e : cache.optionValues().entrySet()) {
      String name = e.getKey();
      if (!Options.get(name).takes(Cmd.TRAIN)) continue;
      Object mine = v.get(name);
      if (java.util.Objects.equals(String.valueOf(mine), String.valueOf(e.getValue()))) continue;
      if (v.given(name)) {
        diffs.add("--" + name + " " + mine + " (cache: " + e.getValue() + ")");
      } else {
        v.set(name, e.getValue(), from);
        adopted.add(name + " " + e.getValue());
      }
    }
    if (!diffs.isEmpty()) {
      throw new io.rewardkit.UsageException(from + " was made with other data options: " + String.join(", ", diffs)
          + "; re-run `rewardkit prepare` with them, or leave them out to use the cache's");
    }
    if (!v.given("tokenizer") && v.get("model_name_or_path") == null && cache.tokenizer() != null) {
      v.set("tokenizer", cache.tokenizer(), from);
    }
    out.println("data options from " + from + (adopted.isEmpty() ? ": the defaults" : ": " + String.join(", ", adopted))
        + (v.given("tokenizer") || v.get("model_name_or_path") != null ? "" : "; its tokenizer (" + cache.tokenizer() + ")"));
    Options.validate(v);
    return cache;
  }

  public static Tokenizer tokenizer(TrainConfig c) {
    if (c.isEmbeddedDefault() || "byte".equals(c.tokenizer)) return new ByteTokenizer();
    Path dir = c.tokenizer != null ? Path.of(c.tokenizer) : c.modelNameOrPath != null ? Path.of(c.modelNameOrPath) : null;
    if (dir == null) {
      throw new io.rewardkit.UsageException("--init_config on raw data files needs --tokenizer (a directory with tokenizer.json, "
          + "or 'byte'); a prepared cache brings its own");
    }
    return HfTokenizer.load(dir);
  }

  public static DataOptions dataOptions(TrainConfig c) {
    OptionValues v = c.values();
    return DataOptions.from(v::get);
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

  /** "data train NAME: N records read, K kept, D dropped (reason n, ...)" per dataset, then the split. */
  public static List<String> dataLines(TrainConfig c, Data d) {
    List<String> out = new ArrayList<>();
    for (String l : d.train().report().summaryLines()) out.add("data train " + l);
    if (d.eval() != null && d.eval().report() != d.train().report()) {
      for (String l : d.eval().report().summaryLines()) out.add("data eval " + l);
    } else if (d.eval() != null) {
      out.add(String.format(java.util.Locale.ROOT, "data split --eval_split %s: %d train pairs, %d eval pairs", c.evalSplit,
          d.train().size(), d.eval().size()));
    }
    return out;
  }

  /** The counts of {@link #dataLines} for metrics.jsonl's run_start record. */
  public static Map<String, Object> dataCounts(TrainConfig c, Data d) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("train", d.train().report().counts());
    if (d.eval() != null && d.eval().report() != d.train().report()) m.put("eval", d.eval().report().counts());
    if (d.eval() != null && d.eval().report() == d.train().report()) {
      m.put("eval_split", c.evalSplit);
      m.put("train_pairs", d.train().size());
      m.put("eval_pairs", d.eval().size());
    }
    return m;
  }

  /** The one-line notice for a causal-LM base (lm_head dropped, score head initialised), or null. */
  public static String conversionNotice(TrainConfig c) {
    if (c.modelNameOrPath == null) return null;
    Path dir = Path.of(c.modelNameOrPath);
    ObjectNode cfg = Checkpoints.readJson(dir.resolve("config.json"));
    for (var a : cfg.path("architectures")) if (a.asText().endsWith("ForSequenceClassification")) return null;
    ModelConfig mc = ModelConfig.load(dir);
    String arch = cfg.path("architectures").path(0).asText("a causal LM");
    return String.format(java.util.Locale.ROOT, "rewardkit: converting %s (%s) into %s: lm_head.weight dropped, score.weight"
        + " initialised ~ N(0, %.4g^2) (1/sqrt(hidden_size + 1)) with seed %d", dir, arch,
        mc.family().sequenceClassificationArchitecture(), 1.0 / Math.sqrt(mc.hiddenSize() + 1.0), c.seed);
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
  public static void applyThreads(TrainConfig c, Backend backend) { applyThreads(c.threads, backend); }

  /** Applies a --threads value on the CPU backend (0 leaves the default: all cores). */
  public static void applyThreads(int threads, Backend backend) {
    if (threads > 0 && backend instanceof io.rewardkit.kernels.CpuBackend) io.rewardkit.kernels.cpu.CpuThreads.set(threads);
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
    if (c.modelNameOrPath != null) {
      ModelConfig.load(Path.of(c.modelNameOrPath)).checkMaxLength(c.maxLength, "--max_length");
      if (c.loadIn4bit) return RewardModel.fromPretrained4bit(Path.of(c.modelNameOrPath), backend, backend.computeType(), c.seed);
      return RewardModel.fromPretrained(Path.of(c.modelNameOrPath), backend, backend.computeType(), c.seed, !c.usePeft);
    }
    ModelConfig mc = c.initConfig != null ? ModelConfig.load(Path.of(c.initConfig))
        : ModelConfig.parse(DEFAULT_MODEL_CONFIG, "embedded default model config");
    if (mc.vocabSize() < tok.vocabSize()) {
      throw new RewardKitException((c.initConfig == null ? "model config" : c.initConfig) + ": vocab_size " + mc.vocabSize()
          + " is smaller than the tokenizer's " + tok.vocabSize() + " ids");
    }
    mc.checkMaxLength(c.maxLength, "--max_length");
    return RewardModel.randomInit(mc, backend, backend.computeType(), c.seed,
        c.initConfig != null ? c.initConfig : "embedded default model config");
  }

  /**
   * With --use_peft: LoRA adapters for every target module of {@code model} (PEFT's init, drawn with
   * --seed), installed as its linear hook; null otherwise. adapter_config.json will name the base by
   * its absolute path (and its revision when the path is a Hugging Face cache snapshot).
   */
  public static LoraAdapters lora(TrainConfig c, RewardModel model) {
    if (!c.usePeft) return null;
    LoraConfig lc = new LoraConfig(c.loraR, c.loraAlpha, c.loraDropout,
        LoraConfig.parseTargets(c.loraTargetModules, "--lora_target_modules"), c.useRslora);
    LoraAdapters ad = new LoraAdapters(model.config(), lc, model.backend(), model.dtype());
    ad.initialize(c.seed);
    Path base = Path.of(c.modelNameOrPath).toAbsolutePath().normalize();
    ad.setBaseModel(base.toString(), snapshotRevision(base));
    ad.attachTo(model);
    return ad;
  }

  /** The commit of a Hugging Face cache snapshot directory ({@code .../snapshots/<40 hex>}), or null. */
  static String snapshotRevision(Path dir) {
    Path name = dir.getFileName(), parent = dir.getParent();
    if (name == null || parent == null || parent.getFileName() == null) return null;
    return parent.getFileName().toString().equals("snapshots") && name.toString().matches("[0-9a-f]{40}") ? name.toString() : null;
  }

  /** One line describing a LoRA run's adapters (printed at the start). */
  public static String loraLine(LoraAdapters ad, RewardModel model) {
    LoraConfig lc = ad.config();
    long head = model.scoreHead().numel();
    return String.format(java.util.Locale.ROOT, "lora: r %d, alpha %s, scaling %.4g%s, %s on %d layers: %,d trainable parameters"
        + " (adapters %,d + score head %,d) of %,d; the base is frozen%s", lc.r(), fmt(lc.alpha()), lc.scaling(),
        lc.useRslora() ? " (rslora)" : "", String.join(",", lc.targetNames()), model.config().numHiddenLayers(),
        ad.numParameters() + head, ad.numParameters(), head, model.numParameters(),
        model.hasNf4Base() ? String.format(java.util.Locale.ROOT, " and its decoder linears are NF4 (QLoRA: %s with the"
            + " shared dequantisation scratch)", io.rewardkit.model.MemoryPlan.gib(model.nf4Bytes())) : "");
  }

  private static String fmt(double v) { return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v); }

  /** An HF tokenizer's files (name -> path) a checkpoint carries; none for the byte tokenizer. */
  public static Map<String, Path> tokenizerFiles(Tokenizer tok) {
    return tok instanceof HfTokenizer hf ? tokenizerFiles(hf.directory()) : new LinkedHashMap<>();
  }

  /** The tokenizer files (name -> path) present in dir. */
  public static Map<String, Path> tokenizerFiles(Path dir) {
    Map<String, Path> files = new LinkedHashMap<>();
    for (String f : TOKENIZER_FILES) if (Files.isRegularFile(dir.resolve(f))) files.put(f, dir.resolve(f));
    return files;
  }

  public static CheckpointContent content(TrainConfig c, Tokenizer tok, DataOptions o, EncodedDataset train) {
    Map<String, Path> files = tokenizerFiles(tok);
    Path tokDir = tok instanceof HfTokenizer hf ? hf.directory() : null;
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("tokenizer", tok instanceof ByteTokenizer ? "byte" : "hf");
    if (tok instanceof ByteTokenizer) {
      m.put("tokenizer_files", "none: the built-in byte tokenizer has no files AutoTokenizer can load; ids 0-255 are the "
          + "UTF-8 bytes of the text and " + String.join(", ", ByteTokenizer.SPECIALS) + " are ids 256-" + (255 + ByteTokenizer.SPECIALS.size())
          + " when they occur as whole strings");
    }
    PadToken pad = PadToken.choose(tok, train.readoutToken());
    m.put("readout", readoutManifest(tok, o, train.readoutToken(), pad));
    Map<String, Object> data = new LinkedHashMap<>(o.values());
    m.put("data", data);
    if (c.loadIn4bit) {
      // adapter_config.json has no field for this (PEFT keeps it in the base's quantization_config), so say it here
      m.put("qlora", "the adapter was trained on --model_name_or_path with every decoder linear stored as NF4 (--load_in_4bit,"
          + " double quantisation, blocks of 64); rewardkit eval, score and export --merge apply it to the base's original weights");
    }
    // LoRA adapters are small: auto keeps them float32 whatever the base's dtype (PEFT's default too)
    String saveDtype = c.usePeft && (c.saveDtype == null || c.saveDtype.equals("auto")) ? "float32" : c.saveDtype;
    return new CheckpointContent(files, pad, m, SaveDtype.resolve(saveDtype, c.modelNameOrPath));
  }

  /** rewardkit.json "readout": everything another tool needs to read the reward where RewardKit does. */
  static Map<String, Object> readoutManifest(Tokenizer tok, DataOptions o, int readoutId, PadToken pad) {
    boolean eosReadout = o.rewardToken() == null;
    String token = eosReadout ? tok.eosToken() : o.rewardToken();
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("rule", "the reward is the score head's output at the last token of the sequence prompt + response + reward token");
    r.put("reward_token", token);
    r.put("reward_token_id", readoutId);
    r.put("reward_token_appended", eosReadout
        ? "after every response, unless the response's tokens already end with it (the EOS token is the readout)"
        : "after every response, always");
    r.put("text_records", "ids = encode(prompt) + encode(response) + [reward_token_id], each string encoded on its own"
        + " without special tokens (no BOS)");
    boolean template = !o.chatTemplate().equalsIgnoreCase("none") && (tok.chatTemplate() != null || !o.chatTemplate().equalsIgnoreCase("auto"));
    if (template) {
      r.put("chat_records", eosReadout
          ? "the conversation (prompt messages + the response as the final assistant turn) is rendered with the chat template,"
              + " add_generation_prompt=false, and cut right after the final " + token + " (whitespace after it removed);"
              + " the text is encoded without adding special tokens, so its last token is " + token
          : "the conversation (prompt messages + the response as the final assistant turn) is rendered with the chat template,"
              + " add_generation_prompt=false, encoded without adding special tokens, and " + token + " is appended");
    }
    r.put("pad_token", pad.token());
    r.put("pad_token_id", pad.id());
    r.put("pad_token_source", pad.source());
    r.put("transformers", "config.json pad_token_id is " + pad.id() + " (never the reward token): AutoModelForSequenceClassification"
        + " reads logits at the last token that is not the pad, which for inputs built as above is the reward token,"
        + " with right or left padding");
    return r;
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
    // per-dataset read/kept/dropped counts: the same numbers train prints (dataCounts)
    Map<String, Object> d = dataCounts(c, data);
    if (c.isEmbeddedDefault()) {  // the embedded task's records are built in memory: name them after the task
      rename(d.get("train"), data.trainNames());
      rename(d.get("eval"), data.evalNames());
    }
    info.put("data", d);
    return info;
  }

  @SuppressWarnings("unchecked")
  private static void rename(Object counts, List<String> names) {
    if (!(counts instanceof List<?> list) || list.size() != names.size()) return;
    for (int i = 0; i < list.size(); i++) ((Map<String, Object>) list.get(i)).put("dataset", names.get(i));
  }

  // ---- reopening a checkpoint ---------------------------------------------------------------------

  /**
   * A saved model with the tokenizer and data options it was trained with. {@code notice} is a line
   * to show the user about how the reward is read (null for RewardKit checkpoints).
   */
  public record Loaded(Path dir, RewardModel model, Tokenizer tokenizer, DataOptions options, ObjectNode manifest, String notice) {}

  /** Longest sequence eval/score use for an HF reward model without rewardkit.json (capped by its positions). */
  static final int FOREIGN_MAX_LENGTH = 4096;

  /**
   * Any transformers {@code *ForSequenceClassification} reward model (one label) without a
   * rewardkit.json: its own tokenizer and chat template, nothing appended, the reward read at the last
   * token of each (prompt + response) rendering, which is where transformers pools when nothing is padded.
   */
  private static Loaded openForeign(Path dir, Backend backend) {
    return openForeign(dir, dir, backend, () -> RewardModel.fromPretrained(dir, backend), "");
  }

  /**
   * openForeign for a model whose config.json (and tokenizer, unless the model directory has its own)
   * are in {@code configDir}, built by {@code load}; {@code what} starts the notice.
   */
  private static Loaded openForeign(Path dir, Path configDir, Backend backend, java.util.function.Supplier<RewardModel> load,
      String what) {
    Path tokDir = Files.isRegularFile(dir.resolve("tokenizer.json")) ? dir : configDir;
    ObjectNode cfg = Checkpoints.readJson(configDir.resolve("config.json"));
    boolean seqCls = false;
    for (var a : cfg.path("architectures")) seqCls |= a.asText().endsWith("ForSequenceClassification");
    if (dir.equals(configDir) && (!seqCls || cfg.path("num_labels").asInt(cfg.path("id2label").size()) > 1)) {
      throw new RewardKitException(dir + ": no " + Checkpoints.MANIFEST + " and not a one-label *ForSequenceClassification"
          + " checkpoint (config.json architectures " + cfg.path("architectures") + "): nothing to read a reward from");
    }
    if (!Files.isRegularFile(tokDir.resolve("tokenizer.json"))) {
      throw new RewardKitException(dir + ": no " + Checkpoints.MANIFEST + " and no tokenizer.json"
          + (dir.equals(configDir) ? "" : " (nor in its base model " + configDir + ")") + ": cannot encode text for this model");
    }
    ModelConfig mc = ModelConfig.load(configDir);
    int maxLength = Math.min(FOREIGN_MAX_LENGTH, mc.maxPositionEmbeddings());
    if (mc.slidingWindow() != null) maxLength = Math.min(maxLength, mc.slidingWindow());
    DataOptions o = DataOptions.defaults().withRewardToken(DataOptions.READ_LAST_TOKEN).withLayout(DataOptions.Layout.SEPARATE)
        .withMaxLength(maxLength).withMaxTokensPerBatch(Math.max(8192, 2 * maxLength + 2));
    Tokenizer tok = HfTokenizer.load(tokDir);
    RewardModel model;
    try {
      model = load.get();
    } catch (RuntimeException e) {
      tok.close();
      throw e;
    }
    ObjectNode man = Checkpoints.JSON.createObjectNode();
    man.put("format", "hf");
    String notice = "rewardkit: " + what + dir + " has no " + Checkpoints.MANIFEST + ": reading the reward where transformers does,"
        + " at the last token of each prompt + response (chat: the full chat-template rendering; nothing appended),"
        + " max_length " + maxLength;
    return new Loaded(dir, model, tok, o, man, notice);
  }

  public static Loaded open(Path path, Backend backend) {
    Path dir = Checkpoints.resolveModelDir(path);
    Path mf = dir.resolve(Checkpoints.MANIFEST);
    if (PeftAdapter.isAdapter(dir)) {
      PeftAdapter.Info info = PeftAdapter.read(dir);
      Path base = adapterBase(info);
      java.util.function.Supplier<RewardModel> load = () -> withAdapter(info, base, backend);
      if (!Files.isRegularFile(mf)) return openForeign(dir, base, backend, load, "LoRA adapter on " + base + ": ");
      Optional<String> bad = Checkpoints.verify(dir);
      if (bad.isPresent() && !bad.get().equals(Checkpoints.LEGACY)) throw new RewardKitException(dir + ": damaged: " + bad.get());
      return openManifest(dir, mf, load);
    }
    if (!Files.isRegularFile(mf)) return openForeign(dir, backend);
    Optional<String> bad = Checkpoints.verify(dir);
    if (bad.isPresent() && !bad.get().equals(Checkpoints.LEGACY)) throw new RewardKitException(dir + ": damaged: " + bad.get());
    ObjectNode man = Checkpoints.readJson(mf);
    Tokenizer tok = "byte".equals(man.path("tokenizer").asText()) ? new ByteTokenizer() : HfTokenizer.load(dir);
    Map<String, Object> d = new com.fasterxml.jackson.databind.ObjectMapper().convertValue(man.get("data"),
        new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() {});
    DataOptions o = PreparedCache.optionsFrom(d);
    RewardModel model = RewardModel.fromPretrained(dir, backend);
    return new Loaded(dir, model, tok, o, man, null);
  }

  /** A RewardKit directory (rewardkit.json) whose model comes from {@code load}. */
  private static Loaded openManifest(Path dir, Path mf, java.util.function.Supplier<RewardModel> load) {
    ObjectNode man = Checkpoints.readJson(mf);
    Tokenizer tok = "byte".equals(man.path("tokenizer").asText()) ? new ByteTokenizer() : HfTokenizer.load(dir);
    Map<String, Object> d = new com.fasterxml.jackson.databind.ObjectMapper().convertValue(man.get("data"),
        new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() {});
    DataOptions o = PreparedCache.optionsFrom(d);
    try {
      return new Loaded(dir, load.get(), tok, o, man, null);
    } catch (RuntimeException e) {
      tok.close();
      throw e;
    }
  }

  /** The base model directory an adapter names (adapter_config.json base_model_name_or_path), which must be on disk. */
  public static Path adapterBase(PeftAdapter.Info info) {
    Path cf = info.dir().resolve(PeftAdapter.CONFIG);
    if (info.baseModel() == null) {
      throw new RewardKitException(cf + ": field 'base_model_name_or_path' is empty: the adapter does not say which base model it belongs to");
    }
    Path base = Path.of(info.baseModel());
    if (!Files.isRegularFile(base.resolve("config.json"))) {
      throw new RewardKitException(cf + ": field 'base_model_name_or_path' is '" + info.baseModel() + "', which is not a model"
          + " directory on this machine (no config.json there; RewardKit downloads nothing): put the base model there or"
          + " edit the field to its local path");
    }
    return base;
  }

  /**
   * The base model with the adapter installed as its linear hook (unmerged, as PEFT computes it) and
   * the adapter's score head in place of the base's. The base is loaded frozen (no gradient memory).
   */
  public static RewardModel withAdapter(PeftAdapter.Info info, Path base, Backend backend) {
    RewardModel model = RewardModel.fromPretrained(base, backend, backend.computeType(), 0L, false);
    try {
      PeftAdapter.checkBase(info, model.config(), base);
      LoraAdapters ad = new LoraAdapters(model.config(), info.lora(), backend, model.dtype());
      ad.attachTo(model);  // closed with the model from here on
      PeftAdapter.load(info.dir(), ad, model.scoreHead(), backend);
      ad.setBaseModel(info.baseModel(), info.revision());
      return model;
    } catch (RuntimeException e) {
      model.close();
      throw e;
    }
  }
}
