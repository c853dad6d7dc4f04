package io.rewardkit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.DataPipeline;
import io.rewardkit.data.EncodedDataset;
import io.rewardkit.eval.BenchmarkEval;
import io.rewardkit.eval.BenchmarkScores;
import io.rewardkit.eval.EvalResult;
import io.rewardkit.eval.Evaluator;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backend.RewardLossSpec;
import io.rewardkit.kernels.Backends;
import io.rewardkit.train.ModelAdapter;
import io.rewardkit.train.RunSetup;
import io.rewardkit.train.TrainConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rewardkit eval}: accuracy, margin, reward statistics, per-dataset and per-length-bucket
 * accuracy and a length-only baseline of a saved model on preference files, encoded and batched
 * exactly as in training (tokenizer, template, readout and packing options from the checkpoint).
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Evaluate a saved reward model on preference pairs.")
public final class EvalCommand implements Callable<Integer> {
  @Option(names = "--model", required = true, paramLabel = "DIR", description = "Checkpoint or model directory, or a training output directory (its final model); also any HF *ForSequenceClassification reward model (read at its last token, as transformers does).")
  Path model;
  @Option(names = "--dataset", required = true, arity = "1..*", paramLabel = "PATH", description = "Preference files (JSONL/JSON, Parquet, Arrow; each one a dataset), folders, ORG/NAME in the Hugging Face cache, or a prepared cache.")
  List<String> dataset;
  @Option(names = "--eval_split", paramLabel = "FRACTION", description = "Evaluate only the held-out fraction (same seed as training: the pairs training held out).")
  double evalSplit;
  @Option(names = "--max_tokens_per_batch", paramLabel = "N", description = "Default: the checkpoint's (keeps results identical to training's eval).")
  Integer maxTokensPerBatch;
  @Option(names = "--on_bad_record", paramLabel = "fail|skip", description = "Default: the checkpoint's.") String onBadRecord;
  @Option(names = "--device", paramLabel = "cpu|cuda|auto", description = "Compute backend (default cpu).") String device = "cpu";
  @Option(names = "--output_json", paramLabel = "FILE", description = "Also write all metrics as JSON.") Path outputJson;
  @Option(names = "--benchmark", paramLabel = "rewardbench|rewardbench2",
      description = "Score --dataset (a local copy of the benchmark: file, folder, or allenai/reward-bench[-2] in the Hugging Face cache) by the benchmark's official rules: per-subset table, sections (RewardBench), 1/k tie credit and the Ties formula (RewardBench 2), and a length-only baseline.")
  String benchmark;
  @Option(names = "--dataset_split", paramLabel = "SPLIT", description = "Split of a Hub-cache or save_to_disk dataset (default train; with --benchmark: filtered / test).") String datasetSplit;
  @Option(names = "--dataset_config", paramLabel = "NAME", description = "Config (subset) of a Hub-cache dataset with several.") String datasetConfig;

  @Override
  public Integer call() throws Exception {
    try (Backend backend = Backends.select(device)) {
      RunSetup.Loaded m = RunSetup.open(model, backend);
      if (m.notice() != null) System.err.println(m.notice());
      try (var mm = m.model(); var tok = m.tokenizer()) {
        var options = maxTokensPerBatch == null ? m.options() : m.options().withMaxTokensPerBatch(maxTokensPerBatch);
        if (onBadRecord != null) options = options.withOnBadRecord(io.rewardkit.data.DataOptions.OnBadRecord.parse(onBadRecord));
        if (datasetConfig != null) options = options.withDatasetConfig(datasetConfig);
        if (benchmark != null) return runBenchmark(m, tok, options);
        if (datasetSplit != null) options = options.withDatasetSplit(datasetSplit);
        EncodedDataset ds = DataPipeline.loadOrOpen(dataset.stream().map(Path::of).toList(), options, tok, DataPipeline.Progress.NONE);
        for (String line : ds.report().summaryLines()) System.out.println("data " + line);
        Map<String, Object> dataCounts = new LinkedHashMap<>();
        dataCounts.put("datasets", ds.report().counts());
        if (evalSplit > 0) {
          int all = ds.size();
          ds = ds.split(evalSplit).eval();
          System.out.printf(Locale.ROOT, "data split --eval_split %s: %d of %d kept pairs evaluated (the pairs training held out)%n", evalSplit, ds.size(), all);
          dataCounts.put("eval_split", evalSplit);
        }
        dataCounts.put("eval_pairs", ds.size());
        if (ds.size() == 0) throw new RewardKitException("no pairs to evaluate");
        TrainConfig loss = new TrainConfig();
        var l = m.manifest().path("loss");
        loss.lossType = l.path("loss_type").asText("ranking");
        loss.focalGamma = l.path("focal_gamma").asDouble(2.0);
        loss.penaltyType = l.path("penalty_type").asText("none");
        loss.penaltyWeight = l.path("penalty_weight").asDouble(0);
        if (l.has("penalty_bounds")) {
          loss.penaltyLower = l.get("penalty_bounds").get(0).asDouble();
          loss.penaltyUpper = l.get("penalty_bounds").get(1).asDouble();
        }
        loss.centerRewardsCoefficient = l.path("center_rewards_coefficient").asDouble(0);
        RewardLossSpec spec = loss.lossSpec();
        List<String> names = RunSetupNames.of(dataset);
        EvalResult r = Evaluator.evaluate(new ModelAdapter(m.model()), ds.batches(0), spec, names);
        print(m.dir(), r);
        if (outputJson != null) {
          Map<String, Object> all = new LinkedHashMap<>(r.metrics("eval_"));
          all.put("eval_pairs", r.numPairs());
          all.put("eval_reward_std", r.rewardStd());
          all.put("length_baseline_accuracy", r.lengthBaselineAccuracy());
          Map<String, Object> buckets = new LinkedHashMap<>();
          for (EvalResult.LengthBucket b : r.lengthBuckets()) {
            buckets.put(b.name(), Map.of("pairs", b.pairs(), "accuracy", b.accuracy(), "length_baseline_accuracy", b.lengthBaseline()));
          }
          all.put("length_buckets", buckets);
          all.put("data", dataCounts);
          new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(outputJson.toFile(), all);
        }
      }
    }
    return 0;
  }

  private int runBenchmark(RunSetup.Loaded m, io.rewardkit.data.Tokenizer tok, io.rewardkit.data.DataOptions options) throws java.io.IOException {
    BenchmarkEval.Kind kind = BenchmarkEval.Kind.parse(benchmark);
    if (dataset.size() != 1) throw new RewardKitException("--benchmark takes one --dataset (the benchmark's file or folder), got " + dataset.size());
    if (evalSplit > 0) throw new RewardKitException("--eval_split does not apply to --benchmark (the whole benchmark is scored)");
    Path ds = Path.of(dataset.get(0));
    // The Hub datasets keep the benchmark in a split of their own (reward-bench: filtered, reward-bench-2: test).
    String split = datasetSplit != null ? datasetSplit : java.nio.file.Files.exists(ds) ? null : kind.hubSplit;
    if (split != null) options = options.withDatasetSplit(split);
    String note = BenchmarkEval.templateNote(options, tok);
    BenchmarkScores.Result res = BenchmarkEval.run(kind, ds, new ModelAdapter(m.model()), tok, options);
    System.out.printf(Locale.ROOT, "model %s%n", m.dir());
    System.out.print(BenchmarkEval.table(res, note));
    if (outputJson != null) {
      Map<String, Object> j = BenchmarkEval.json(res, m.dir().toString(), dataset.get(0), note);
      Path abs = outputJson.toAbsolutePath();
      Path tmp = abs.resolveSibling(abs.getFileName() + ".tmp");
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(tmp.toFile(), j);
      java.nio.file.Files.move(tmp, abs, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      System.out.println("wrote " + outputJson);
    }
    return 0;
  }

  static void print(Path dir, EvalResult r) {
    System.out.printf(Locale.ROOT, "model %s: %d pairs%n", dir, r.numPairs());
    for (Map.Entry<String, Object> e : r.metrics("eval_").entrySet()) {
      System.out.printf(Locale.ROOT, "  %-28s %s%n", e.getKey(), e.getValue() instanceof Double d ? String.format(Locale.ROOT, "%.6f", d) : e.getValue());
    }
    System.out.printf(Locale.ROOT, "  %-28s %.6f%n", "eval_reward_std", r.rewardStd());
    System.out.printf(Locale.ROOT, "  %-28s %.6f   (longer response wins; ties count 1/2)%n", "length_baseline_accuracy", r.lengthBaselineAccuracy());
    if (r.datasetNames().size() > 1) {
      for (int d = 0; d < r.datasetNames().size(); d++) {
        System.out.printf(Locale.ROOT, "  dataset %-20s %5d pairs  accuracy %.4f%n", r.datasetNames().get(d), r.count(d), r.accuracy(d));
      }
    }
    for (EvalResult.LengthBucket b : r.lengthBuckets()) {
      System.out.printf(Locale.ROOT, "  length %-21s %5d pairs  accuracy %.4f  length-only baseline %.4f%n", b.name() + " tokens",
          b.pairs(), b.accuracy(), b.lengthBaseline());
    }
  }

  /** Dataset names as training derives them (file names without extension). */
  static final class RunSetupNames {
    static List<String> of(List<String> paths) { return RunSetup.datasetNames(paths); }
  }
}
