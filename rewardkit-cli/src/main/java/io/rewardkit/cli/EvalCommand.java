package io.rewardkit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.rewardkit.RewardKitException;
import io.rewardkit.UsageException;
import io.rewardkit.data.DataPipeline;
import io.rewardkit.data.EncodedDataset;
import io.rewardkit.eval.BenchmarkEval;
import io.rewardkit.eval.BenchmarkScores;
import io.rewardkit.eval.EvalResult;
import io.rewardkit.eval.Evaluator;
import io.rewardkit.io.AtomicFiles;
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
import io.rewardkit.config.Cmd;
import io.rewardkit.config.OptionValues;
import io.rewardkit.data.DataOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code rewardkit eval}: accuracy, margin, reward statistics, per-dataset and per-length-bucket
 * accuracy and a length-only baseline of a saved model on preference files, encoded and batched
 * exactly as in training (tokenizer, template, readout and packing options from the checkpoint).
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Evaluate a saved reward model on preference pairs.",
        "Data options default to the checkpoint's (tokenizer, template and readout",
        "always are the checkpoint's)."})
public final class EvalCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    OptionValues v = CliOptions.values(Cmd.EVAL, spec, spec.commandLine().getErr());
    List<String> dataset = v.getList("dataset");
    Path outputJson = v.get("output_json") == null ? null : Path.of(v.getString("output_json"));
    try (Backend backend = Backends.select(v.getString("device"), v.getBool("bf16"))) {
      RunSetup.applyThreads(v.getInt("threads"), backend);
      RunSetup.Loaded m = RunSetup.open(Path.of(v.getString("model")), backend);
      if (m.notice() != null) System.err.println(m.notice());
      try (var mm = m.model(); var tok = m.tokenizer()) {
        // The checkpoint's data options, with the ones given here on top; the input selectors
        // (--dataset_split, --dataset_config) come only from this command line.
        Map<String, Object> opts = new LinkedHashMap<>(m.options().values());
        opts.put("dataset_split", null);
        opts.put("dataset_config", null);
        for (String name : v.givenNames()) if (opts.containsKey(name)) opts.put(name, v.get(name));
        DataOptions options = DataOptions.from(opts::get).validate();
        if (v.get("benchmark") != null) return runBenchmark(v, m, tok, options);
        List<String> compare = v.givenNames().stream().filter(DataOptions.NAMES::contains).toList();
        EncodedDataset ds = DataPipeline.loadOrOpen(dataset.stream().map(Path::of).toList(), options, tok,
            DataPipeline.Progress.NONE, compare);
        double evalSplit = v.getDouble("eval_split");
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
        RewardLossSpec lossSpec = loss.lossSpec();
        List<String> names = RunSetupNames.of(dataset);
        EvalResult r = Evaluator.evaluate(new ModelAdapter(m.model()), ds.batches(0), lossSpec, names);
        if (outputJson == null || !outputJson.toString().equals("-")) print(m.dir(), r);
        if (outputJson != null && outputJson.toString().equals("-")) {
          System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(json(r, dataCounts)));
        } else if (outputJson != null) {
          new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(outputJson.toFile(), json(r, dataCounts));
        }
      }
    }
    return 0;
  }

  static Map<String, Object> json(EvalResult r, Map<String, Object> dataCounts) {
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
    return all;
  }

  private int runBenchmark(OptionValues v, RunSetup.Loaded m, io.rewardkit.data.Tokenizer tok, DataOptions options)
      throws java.io.IOException {
    BenchmarkEval.Kind kind = BenchmarkEval.Kind.parse(v.getString("benchmark"));
    List<String> dataset = v.getList("dataset");
    if (dataset.size() != 1) throw new UsageException("--benchmark takes one --dataset (the benchmark's file or folder), got " + dataset.size());
    if (v.getDouble("eval_split") > 0) throw new UsageException("--eval_split does not apply to --benchmark (the whole benchmark is scored)");
    Path outputJson = v.get("output_json") == null ? null : Path.of(v.getString("output_json"));
    Path ds = Path.of(dataset.get(0));
    // The Hub datasets keep the benchmark in a split of their own (reward-bench: filtered, reward-bench-2: test).
    String split = v.given("dataset_split") ? v.getString("dataset_split") : java.nio.file.Files.exists(ds) ? null : kind.hubSplit;
    if (split != null) options = options.withDatasetSplit(split);
    String note = BenchmarkEval.templateNote(options, tok);
    BenchmarkScores.Result res = BenchmarkEval.run(kind, ds, new ModelAdapter(m.model()), tok, options);
    System.out.printf(Locale.ROOT, "model %s%n", m.dir());
    System.out.print(BenchmarkEval.table(res, note));
    if (outputJson != null) {
      Map<String, Object> j = BenchmarkEval.json(res, m.dir().toString(), dataset.get(0), note);
      AtomicFiles.writeBytes(outputJson, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(j));
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
