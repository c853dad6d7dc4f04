package io.rewardkit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.rewardkit.RewardKitException;
import io.rewardkit.bench.BenchConfig;
import io.rewardkit.bench.BenchEngine;
import io.rewardkit.kernels.CpuBlas;
import io.rewardkit.bench.BenchModels;
import io.rewardkit.bench.BenchResult;
import io.rewardkit.bench.LengthProfile;
import io.rewardkit.bench.ModelShape;
import io.rewardkit.bench.PeerExport;
import io.rewardkit.bench.RunInfo;
import io.rewardkit.UsageException;
import io.rewardkit.config.Cmd;
import io.rewardkit.config.OptionValues;
import io.rewardkit.config.Options;
import io.rewardkit.data.DataOptions;
import io.rewardkit.io.AtomicFiles;
import java.io.IOException;
import java.util.List;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code rewardkit bench}: end-to-end training throughput of a model shape on synthetic preference pairs.
 * Prints a table and writes the same figures as JSON (with machine, date, commit and command).
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "Measure end-to-end reward-model training throughput.",
        "Times train's own step (io.rewardkit.train.TrainingStep: train's default loss,",
        "AdamW and clipping) on micro-batches packed by train's packer in train's layout.",
        "Real tokens/s, the step times' median, IQR, min and max, pairs/s, step-time",
        "breakdown by op family, MFU, peak memory, packing efficiency and host (JVM)",
        "overhead, on synthetic preference pairs or on the pairs of a --dataset read as",
        "train reads it (bad records skipped). Synthetic pairs: --max_length caps a whole",
        "pair. --shape also takes a config.json path (e.g. examples/qwen2-tiny-config.json)."})
public final class BenchCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    OptionValues v = CliOptions.values(Cmd.BENCH, spec, spec.commandLine().getErr());
    List<String> dataset = v.getList("dataset");
    if (dataset.size() > 1) throw new UsageException("bench takes one --dataset file, got " + dataset.size());
    Path data = dataset.isEmpty() ? null : Path.of(dataset.get(0));
    if (data != null && v.get("tokenizer") == null) throw new UsageException("bench --dataset needs --tokenizer");
    Path tokenizer = v.get("tokenizer") == null ? null : Path.of(v.getString("tokenizer"));
    // Bench pairs come through the training data pipeline; bad records are skipped (and counted).
    Map<String, Object> dataValues = new LinkedHashMap<>(DataOptions.defaults().values());
    for (String name : DataOptions.NAMES) if (Options.get(name).takes(Cmd.BENCH)) dataValues.put(name, v.get(name));
    dataValues.put("on_bad_record", "skip");
    DataOptions dataOptions = DataOptions.from(dataValues::get);
    String json = v.getString("output_json");
    Path exportPeer = v.get("export_peer") == null ? null : Path.of(v.getString("export_peer"));
    BenchConfig config;
    try {
      config = new BenchConfig(ModelShape.byName(v.getString("shape")), v.getString("device"),
          LengthProfile.parse(v.getString("lengths")), data, tokenizer, v.getInt("pairs_per_step"),
          v.getInt("max_tokens_per_batch"), v.getInt("max_length"), v.getString("layout").equals("shared_prefix"),
          v.getInt("warmup"), v.getInt("steps"), v.getLong("seed"), v.getDouble("peak_tflops"), v.getInt("gemm_size"),
          dataOptions, v.getInt("threads"), v.getBool("bf16"));
    } catch (IllegalArgumentException e) {
      throw new UsageException("bench: " + e.getMessage());
    }
    if (exportPeer != null) {
      if (config.trainSteps()) {
        throw new UsageException("bench: --export_peer needs --pairs_per_step N (the peer's batch of N pairs per step)");
      }
      PeerExport.write(exportPeer, config, BenchEngine.pairs(config));
      System.out.println("wrote " + exportPeer.resolve("config.json") + ", pairs.jsonl (" + config.totalPairs() + " pairs), run.json");
      return 0;
    }
    // Collected before the run: the date and load average are those of the start.
    Map<String, Object> run = RunInfo.collect("rewardkit " + String.join(" ", spec.root().commandLine().getParseResult().originalArgs()));
    BenchModels.Factory factory = BenchModels::full;
    if (v.getBool("use_peft")) {
      factory = BenchModels.lora(new io.rewardkit.model.lora.LoraConfig(v.getInt("lora_r"), v.getInt("lora_alpha"),
          v.getDouble("lora_dropout"), io.rewardkit.model.lora.LoraConfig.parseTargets(v.getString("lora_target_modules"),
          "--lora_target_modules"), v.getBool("use_rslora")));
      System.out.println("bench: LoRA r " + v.getInt("lora_r") + " on " + v.getString("lora_target_modules")
          + " (frozen base, score head trained)");
    }
    BenchResult result = new BenchEngine(factory).run(config);
    System.out.print(result.table());
    String blasNote = result.backend().startsWith("cpu") ? CpuBlas.coreTypeNotice() : null;
    if (blasNote != null) System.out.println(blasNote);
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("run", run);
    report.putAll(result.toMap());
    String text = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report) + "\n";
    if ("-".equals(json)) {
      System.out.print(text);
    } else if (json != null) {
      Path out = Path.of(json).toAbsolutePath();
      AtomicFiles.writeString(out, text);
      System.out.println("\nJSON report: " + out);
    }
    return 0;
  }
}
