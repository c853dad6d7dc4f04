package io.rewardkit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.rewardkit.RewardKitException;
import io.rewardkit.bench.BenchConfig;
import io.rewardkit.bench.BenchEngine;
import io.rewardkit.bench.BenchResult;
import io.rewardkit.bench.LengthProfile;
import io.rewardkit.bench.ModelShape;
import io.rewardkit.bench.PeerExport;
import io.rewardkit.bench.RewardModelStep;
import io.rewardkit.bench.RunInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rewardkit bench}: end-to-end training throughput of a model shape on synthetic preference pairs.
 * Prints a table and writes the same figures as JSON (with machine, date, commit and command).
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
    description = {
        "Measure end-to-end reward-model training throughput: real tokens/s, pairs/s, step-time breakdown by op",
        "family, MFU, peak memory, packing efficiency and host (JVM) overhead, on synthetic preference pairs.",
        "Shapes: Qwen2.5-0.5B, Qwen2.5-1.5B, Qwen2.5-7B, Llama-3-8B; append :<n>L to change the layer count."})
public final class BenchCommand implements Callable<Integer> {

  @Option(names = "--shape", defaultValue = "Qwen2.5-0.5B", description = "Model shape (default: ${DEFAULT-VALUE}).")
  String shape;

  @Option(names = "--device", defaultValue = "auto", description = "cpu, cuda or auto (default: ${DEFAULT-VALUE}).")
  String device;

  @Option(names = "--lengths", defaultValue = "hh-rlhf",
      description = "Synthetic length distribution: hh-rlhf (short responses) or ultrafeedback (long) (default: ${DEFAULT-VALUE}).")
  String lengths;

  @Option(names = "--data", description = "Take the pairs from this preference dataset (JSONL/JSON/Parquet as `rewardkit train` reads it) instead of synthetic lengths.")
  Path data;

  @Option(names = "--tokenizer", description = "Tokenizer for --data (tokenizer.json or its folder).")
  Path tokenizer;

  @Option(names = "--pairs-per-step", defaultValue = "32", description = "Pairs per optimizer step (default: ${DEFAULT-VALUE}).")
  int pairsPerStep;

  @Option(names = "--token-budget", defaultValue = "16384", description = "Max packed tokens per micro-batch (default: ${DEFAULT-VALUE}).")
  int tokenBudget;

  @Option(names = "--max-length", defaultValue = "2048", description = "Max tokens per pair (default: ${DEFAULT-VALUE}).")
  int maxLength;

  @Option(names = "--layout", defaultValue = "shared_prefix",
      description = "shared_prefix ([prompt|chosen|rejected] per pair) or separate (default: ${DEFAULT-VALUE}).")
  String layout;

  @Option(names = "--warmup", defaultValue = "2", description = "Untimed warm-up steps (default: ${DEFAULT-VALUE}).")
  int warmup;

  @Option(names = "--steps", defaultValue = "5", description = "Timed steps (default: ${DEFAULT-VALUE}).")
  int steps;

  @Option(names = "--seed", defaultValue = "1234", description = "Seed for pairs and weights (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--peak-tflops", defaultValue = "0",
      description = "Dense bf16 peak for MFU on GPU; 0 = look up the device name (default: ${DEFAULT-VALUE}).")
  double peakTflops;

  @Option(names = "--gemm-size", defaultValue = "2048", description = "M=N=K of the ceiling GEMM (default: ${DEFAULT-VALUE}).")
  int gemmSize;

  @Option(names = "--json", description = "Write the JSON report here (also printed with --json -).")
  String json;

  @Option(names = "--export-peer", description = "Write config.json, pairs.jsonl and run.json for the PyTorch peer into this folder, then exit.")
  Path exportPeer;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    BenchConfig config;
    try {
      config = new BenchConfig(ModelShape.byName(shape), device, LengthProfile.parse(lengths), data, tokenizer, pairsPerStep, tokenBudget,
          maxLength, sharedPrefix(layout), warmup, steps, seed, peakTflops, gemmSize);
    } catch (IllegalArgumentException e) {
      throw new RewardKitException("bench: " + e.getMessage());
    }
    if (exportPeer != null) {
      PeerExport.write(exportPeer, config, BenchEngine.pairs(config));
      System.out.println("wrote " + exportPeer.resolve("config.json") + ", pairs.jsonl (" + config.totalPairs() + " pairs), run.json");
      return 0;
    }
    // Collected before the run: the date and load average are those of the start.
    Map<String, Object> run = RunInfo.collect("rewardkit " + String.join(" ", spec.root().commandLine().getParseResult().originalArgs()));
    BenchResult result = new BenchEngine(RewardModelStep::create).run(config);
    System.out.print(result.table());
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("run", run);
    report.putAll(result.toMap());
    String text = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report) + "\n";
    if ("-".equals(json)) {
      System.out.print(text);
    } else if (json != null) {
      Path out = Path.of(json).toAbsolutePath();
      PeerExport.writeAtomic(out, text);
      System.out.println("\nJSON report: " + out);
    }
    return 0;
  }

  static boolean sharedPrefix(String layout) {
    return switch (layout) {
      case "shared_prefix", "shared-prefix", "shared" -> true;
      case "separate" -> false;
      default -> throw new IllegalArgumentException("--layout must be shared_prefix or separate, got '" + layout + "'");
    };
  }
}
