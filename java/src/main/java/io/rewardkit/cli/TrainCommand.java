package io.rewardkit.cli;

import io.rewardkit.RewardKitException;
import io.rewardkit.data.DataOptions;
import io.rewardkit.model.ModelConfig;
import io.rewardkit.data.Tokenizer;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backends;
import io.rewardkit.model.RewardModel;
import io.rewardkit.train.CheckpointContent;
import io.rewardkit.train.ModelAdapter;
import io.rewardkit.train.PairSource;
import io.rewardkit.train.RunDirectory;
import io.rewardkit.train.RunSetup;
import io.rewardkit.train.SyntheticTask;
import io.rewardkit.train.TrainConfig;
import io.rewardkit.train.Trainer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rewardkit train}: TRL-style options (same names in a --config YAML file; the command line
 * wins). With no model and no dataset it trains the embedded default: a small model with the byte
 * tokenizer on a synthetic copy-checking preference task.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Train a reward model on preference pairs (Bradley-Terry / focal loss).",
        "With no arguments: the embedded default run (synthetic task, byte tokenizer, tiny model)."})
public final class TrainCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE.yaml", description = "YAML file with the same keys as the options below (command line wins).")
  Path config;

  // Every option below is copied into TrainConfig by name (see apply()); values are parsed there.
  @Option(names = "--model_name_or_path", paramLabel = "DIR", description = "HF model directory (config.json + safetensors).") String modelNameOrPath;
  @Option(names = "--init_config", paramLabel = "config.json", description = "HF config.json: train a randomly initialised model.") String initConfig;
  @Option(names = "--tokenizer", paramLabel = "DIR", description = "Tokenizer directory or tokenizer.json ('byte' for the built-in byte tokenizer); default: the model's.") String tokenizer;
  @Option(names = "--dataset", arity = "1..*", paramLabel = "PATH", description = "Training preference files (JSONL/JSON, Parquet, Arrow), directories, save_to_disk folders, ORG/NAME in the local Hugging Face cache, or a prepared cache.") List<String> dataset;
  @Option(names = "--dataset_split", paramLabel = "SPLIT", description = "Split of a Hub-cache or save_to_disk dataset (default train).") String datasetSplit;
  @Option(names = "--dataset_config", paramLabel = "NAME", description = "Config (subset) of a Hub-cache dataset with several.") String datasetConfig;
  @Option(names = "--score_keys", paramLabel = "CHOSEN,REJECTED", description = "Numeric score fields whose difference is the margin (e.g. score_chosen,score_rejected).") String scoreKeys;
  @Option(names = "--eval_dataset", arity = "1..*", paramLabel = "PATH", description = "Evaluation files (per-dataset accuracy when several).") List<String> evalDataset;
  @Option(names = "--eval_split", paramLabel = "FRACTION", description = "Hold out this fraction of --dataset for evaluation when no --eval_dataset.") String evalSplit;
  @Option(names = "--output_dir", paramLabel = "DIR", description = "Where metrics, checkpoints and the report go (default runs/default).") String outputDir;
  @Option(names = "--max_length", paramLabel = "N", description = "Longest sequence in tokens: prompt + response + readout (default 1024).") String maxLength;
  @Option(names = "--max_tokens_per_batch", paramLabel = "N", description = "Token budget of one packed micro-batch (default 8192).") String maxTokensPerBatch;
  @Option(names = "--chat_template", paramLabel = "auto|none|FILE", description = "Chat template: the tokenizer's (auto), none, or a .jinja file.") String chatTemplate;
  @Option(names = "--reward_token", paramLabel = "TOKEN", description = "Readout token appended to every response (id or string; default: the final EOS).") String rewardToken;
  @Option(names = "--format", paramLabel = "auto|hh-rlhf|text|messages|conversation|ranked", description = "Record format of the input files (default: auto-detect per file).") String format;
  @Option(names = "--layout", paramLabel = "separate|shared_prefix", description = "Packing: chosen and rejected as separate sequences, or [prompt | chosen | rejected] (default separate).") String layout;
  @Option(names = "--truncation", paramLabel = "drop|prompt_left|response_right", description = "Over-long pairs: drop them, cut the prompt from the left, or cut responses from the right (default drop).") String truncation;
  @Option(names = "--on_bad_record", paramLabel = "fail|skip", description = "Stop at the first bad record (default) or skip and count bad records.") String onBadRecord;
  @Option(names = "--gradient_accumulation_steps", paramLabel = "N", description = "Micro-batches per optimizer step (default 1).") String gradientAccumulationSteps;
  @Option(names = "--learning_rate", paramLabel = "LR", description = "Peak learning rate (default 1e-5).") String learningRate;
  @Option(names = "--lr_scheduler_type", paramLabel = "constant|linear|cosine|cosine_with_min_lr", description = "Learning-rate schedule after warmup (default linear).") String lrSchedulerType;
  @Option(names = "--warmup_ratio", paramLabel = "R", description = "Warmup as a fraction of the total steps (default 0).") String warmupRatio;
  @Option(names = "--warmup_steps", paramLabel = "N", description = "Warmup steps (overrides --warmup_ratio when > 0).") String warmupSteps;
  @Option(names = "--min_lr_rate", paramLabel = "R", description = "cosine_with_min_lr floor as a fraction of the peak.") String minLrRate;
  @Option(names = "--weight_decay", paramLabel = "WD", description = "Decoupled; never on norms and biases.") String weightDecay;
  @Option(names = "--adam_beta1", paramLabel = "B", description = "AdamW beta1 (default 0.9).") String adamBeta1;
  @Option(names = "--adam_beta2", paramLabel = "B", description = "AdamW beta2 (default 0.999).") String adamBeta2;
  @Option(names = "--adam_epsilon", paramLabel = "EPS", description = "AdamW epsilon (default 1e-8).") String adamEpsilon;
  @Option(names = "--max_grad_norm", paramLabel = "N", description = "Global-norm clipping (0: off); grad_norm is logged before clipping.") String maxGradNorm;
  @Option(names = "--num_train_epochs", paramLabel = "E", description = "Epochs over the training set (default 1).") String numTrainEpochs;
  @Option(names = "--max_steps", paramLabel = "N", description = "Optimizer steps (overrides --num_train_epochs).") String maxSteps;
  @Option(names = "--loss_type", paramLabel = "ranking|focal", description = "Bradley-Terry ranking or InternLM2 focal ranking (default ranking).") String lossType;
  @Option(names = "--focal_gamma", paramLabel = "G", description = "Focal loss exponent (default 2).") String focalGamma;
  @Option(names = "--penalty_type", paramLabel = "none|log_barrier|l2", description = "Reward penalty (default none).") String penaltyType;
  @Option(names = "--penalty_weight", paramLabel = "W", description = "Weight of the penalty term (default 0).") String penaltyWeight;
  @Option(names = "--penalty_lower", paramLabel = "LO", description = "Lower bound of the log-barrier (default -5).") String penaltyLower;
  @Option(names = "--penalty_upper", paramLabel = "HI", description = "Upper bound of the log-barrier (default 5).") String penaltyUpper;
  @Option(names = "--center_rewards_coefficient", paramLabel = "C", description = "Reward centering: adds C * mean((r_chosen + r_rejected)^2) (default 0).") String centerRewardsCoefficient;
  @Option(names = "--logging_steps", paramLabel = "N", description = "Log metrics every N optimizer steps (default 10).") String loggingSteps;
  @Option(names = "--eval_steps", paramLabel = "N", description = "0: evaluate at the end only.") String evalSteps;
  @Option(names = "--save_steps", paramLabel = "N", description = "0: save at the end only.") String saveSteps;
  @Option(names = "--save_total_limit", paramLabel = "N", description = "Checkpoints kept (<= 0: all; default 2).") String saveTotalLimit;
  @Option(names = "--seed", paramLabel = "N", description = "Seed for initialisation, shuffling and packing (default 42).") String seed;
  @Option(names = "--device", paramLabel = "cpu|cuda|auto", description = "Compute backend, chosen once at start (default cpu).") String device;
  @Option(names = "--threads", paramLabel = "N", description = "CPU threads (0: all cores; the embedded default uses 1).") String threads;
  @Option(names = "--resume", arity = "0..1", fallbackValue = "latest", paramLabel = "CHECKPOINT",
      description = {"Continue the run in --output_dir from its newest intact checkpoint (or from the given checkpoint) with the run's own options;",
          "only --max_steps, --num_train_epochs, --logging_steps, --eval_steps, --save_steps, --save_total_limit, --report and --threads may be changed."}) String resume;
  @Option(names = "--overwrite_output_dir", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
      description = "Replace a run already in --output_dir; the old run is kept until the new one has saved its first checkpoint.") String overwriteOutputDir;
  @Option(names = "--report", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL", description = "Write the PNG/HTML report at the end (default true).") String report;
  @Option(names = "--save_dtype", paramLabel = "auto|float32|bfloat16", description = "Dtype of saved weights (default auto: the input checkpoint's; float32 without one).") String saveDtype;
  @Option(names = "--synthetic_train_pairs", paramLabel = "N", description = "Embedded default only.") String syntheticTrainPairs;
  @Option(names = "--synthetic_eval_pairs", paramLabel = "N", description = "Embedded default only.") String syntheticEvalPairs;

  /** The options given on the command line, keyed by their snake_case names. */
  private Map<String, Object> given() {
    Map<String, Object> m = new LinkedHashMap<>();
    CommandLine.ParseResult pr = spec.commandLine().getParseResult();
    for (CommandLine.Model.OptionSpec o : pr.matchedOptions()) {
      String name = o.longestName().replaceFirst("^--", "");
      if (name.equals("config") || name.equals("help") || name.equals("version") || name.equals("stacktrace")) continue;
      m.put(name, o.getValue());
    }
    return m;
  }

  TrainConfig buildConfig() {
    Map<String, Object> cli = given();
    TrainConfig c = layer(new TrainConfig(), cli);
    if (resuming(c)) {
      // --resume continues the run that was started: its options are the base, the command line
      // and --config only overlay (the Trainer refuses any change outside the resume allow-list).
      Path dir = Path.of(c.outputDir);
      if (!cli.containsKey("output_dir") && !c.resume.equals("latest") && !c.resume.equals("true")) {
        dir = Path.of(c.resume).toAbsolutePath().normalize().getParent();
      }
      TrainConfig saved = TrainConfig.fromJson(RunSetup.savedConfig(dir, c.resume));
      saved.outputDir = cli.containsKey("output_dir") ? c.outputDir : dir.toString();
      c = layer(saved, cli);
    } else if (c.isEmbeddedDefault()) {
      c = layer(RunSetup.embeddedDefaults(), cli);
    }
    c.validate();
    return c;
  }

  private static boolean resuming(TrainConfig c) {
    return c.resume != null && !c.resume.isEmpty() && !c.resume.equals("false");
  }

  private TrainConfig layer(TrainConfig base, Map<String, Object> cli) {
    if (config != null) base.applyYaml(config);
    return base.apply(cli);
  }

  @Override
  public Integer call() throws Exception {
    TrainConfig c = buildConfig();
    boolean embedded = c.isEmbeddedDefault();
    if (embedded && !resuming(c)) {
      System.out.println("rewardkit: no model or dataset given: training the embedded default (a " + "tiny Llama-style model, byte "
          + "tokenizer, synthetic task: does the response copy the prompt's string exactly?)");
    }
    try (Backend backend = Backends.select(c.device); Tokenizer tok = RunSetup.tokenizer(c)) {
      ModelConfig mc = RunSetup.modelConfig(c);
      RunSetup.checkFits(c, mc, tok);
      // Locked before the data is read: a second writer fails at once, not after minutes of loading.
      try (RunDirectory run = RunDirectory.acquire(Path.of(c.outputDir))) {
        RunSetup.applyThreads(c, backend);
        DataOptions options = RunSetup.dataOptions(c);
        RunSetup.Data data = RunSetup.data(c, tok, options);
        for (String line : RunSetup.dataLines(c, data)) System.out.println(line);
        PairSource train = RunSetup.source(data.train(), data.trainNames());
        PairSource eval = data.eval() == null ? null : RunSetup.source(data.eval(), data.evalNames());
        CheckpointContent content = RunSetup.content(c, tok, options, data.train());
        String notice = RunSetup.conversionNotice(c);
        if (notice != null) System.out.println(notice);
        try (RewardModel model = RunSetup.model(c, tok, backend)) {
          Trainer.Result r = new Trainer(c, new ModelAdapter(model), train, eval, content, System.out).in(run)
              .describe(RunSetup.describe(c, model, tok, data)).train();
          summarize(c, r, embedded);
        } catch (OutOfMemoryError e) {
          throw new RewardKitException(MemoryAdvice.training(mc, backend.computeType(), c.maxTokensPerBatch, e), e);
        }
      }
    }
    return 0;
  }

  private static void summarize(TrainConfig c, Trainer.Result r, boolean embedded) throws Exception {
    Path out = r.outputDir().toAbsolutePath().normalize();
    System.out.println();
    StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "done: %d steps, %,d tokens in %.1f s", r.globalStep(),
        r.numTokens(), r.seconds()));
    if (r.lastTrainMetrics() != null && r.lastTrainMetrics().get("accuracy") instanceof Number a) {
      s.append(String.format(Locale.ROOT, "; train accuracy %.4f (last logging window)", a.doubleValue()));
    }
    if (r.finalEval() != null) {
      s.append(String.format(Locale.ROOT, "; eval accuracy %.4f on %d pairs (margin %.3f)", r.finalEval().accuracy(),
          r.finalEval().numPairs(), r.finalEval().margin()));
    }
    System.out.println(s);
    System.out.println("outputs in " + out + ":");
    System.out.println("  final/            HF-loadable reward model (config.json, model.safetensors, rewardkit.json)");
    System.out.println("  checkpoint-*/     resumable checkpoints (rewardkit train --resume)");
    System.out.println("  metrics.jsonl     run_start, train, eval and run_end records (TRL metric names)");
    System.out.println("  report/index.html which run it is, final eval by length, loss/accuracy/lr/grad-norm charts");
    String input = "prompts.jsonl";
    if (embedded) {
      Path example = out.resolve("score-example.jsonl");
      List<String> lines = new ArrayList<>();
      for (SyntheticTask.Example e : SyntheticTask.generate(3, 777)) {
        lines.add("{\"prompt\": \"" + e.prompt() + "\", \"responses\": [\"" + e.rejected() + "\", \"" + e.chosen() + "\"]}");
      }
      Files.write(example, lines, StandardCharsets.UTF_8);
      input = example.toString();
    }
    Path model = out.resolve("final");
    System.out.println("score responses:  ./rewardkit score --model " + model + " --input " + input + " --best_of_n");
    System.out.println("evaluate pairs:   ./rewardkit eval --model " + model + " --dataset PAIRS.jsonl");
  }
}
