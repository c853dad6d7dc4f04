package io.rewardkit.cli;

import io.rewardkit.data.ByteTokenizer;
import io.rewardkit.data.DataOptions;
import io.rewardkit.data.DataPipeline;
import io.rewardkit.data.EncodedDataset;
import io.rewardkit.data.HfTokenizer;
import io.rewardkit.data.Packer;
import io.rewardkit.data.PreparedCache;
import io.rewardkit.data.Tokenizer;
import java.io.PrintWriter;
import io.rewardkit.config.Cmd;
import io.rewardkit.config.OptionValues;
import io.rewardkit.train.RunSetup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** `rewardkit prepare`: tokenize + pack preference data once into a memory-mappable cache. */
@Command(name = "prepare", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Tokenize and pack preference data (JSONL/JSON[.gz], Parquet or Arrow files,",
        "directories, datasets.save_to_disk folders, or ORG/NAME from the local Hugging",
        "Face cache) into a prepared cache. The cache keeps its data options and a copy",
        "of its tokenizer: `rewardkit train --dataset DIR` uses both."})
public final class PrepareCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    OptionValues v = CliOptions.values(Cmd.PREPARE, spec, err);
    DataOptions options = DataOptions.from(v::get).validate();
    List<Path> inputs = v.getList("dataset").stream().map(Path::of).toList();
    Path output = Path.of(v.getString("output_dir"));
    String tokenizer = v.get("tokenizer") == null ? "byte" : v.getString("tokenizer");
    long tLoad = System.nanoTime();
    try (Tokenizer tok = tokenizer.equalsIgnoreCase("byte") ? new ByteTokenizer() : HfTokenizer.load(Path.of(tokenizer))) {
      long t0 = System.nanoTime();
      err.printf(Locale.ROOT, "prepare: tokenizer loaded in %.2f s%n", (t0 - tLoad) / 1e9);
      long[] lastReport = {System.nanoTime()};
      DataPipeline.Progress progress = (dataset, seen, kept, tokens) -> {
        long now = System.nanoTime();
        if (now - lastReport[0] > 2_000_000_000L) {
          lastReport[0] = now;
          double s = (now - t0) / 1e9;
          err.printf(Locale.ROOT, "prepare: %s: %d records, %d pairs, %d tokens (%.0f tokens/s)%n", dataset, seen, kept, tokens, tokens / s);
          err.flush();
        }
      };
      EncodedDataset ds = DataPipeline.load(inputs, options, tok, progress);
      long tEncoded = System.nanoTime();
      Map<String, Path> files = new LinkedHashMap<>();
      if (tok instanceof HfTokenizer hf) {
        for (String f : RunSetup.TOKENIZER_FILES) if (Files.isRegularFile(hf.directory().resolve(f))) files.put(f, hf.directory().resolve(f));
      }
      PreparedCache.write(output, ds, tok, files);
      long t1 = System.nanoTime();
      if (v.get("ref_model") != null) {
        // the reference's log-probs of every pair, once, so a policy run on this cache never loads it
        long tr = System.nanoTime();
        try (io.rewardkit.kernels.Backend be = io.rewardkit.kernels.Backends.select("cpu")) {
          io.rewardkit.policy.CachedReference ref = io.rewardkit.policy.CachedReference.write(output,
              Path.of(v.getString("ref_model")), ds, be);
          out.printf(Locale.ROOT, "reference log-probs of %s (SHA-256 %s): %d pairs in %.1f s -> %s%n", ref.reference(),
              ref.referenceSha256().substring(0, 12), ref.size(), (System.nanoTime() - tr) / 1e9,
              output.resolve(io.rewardkit.policy.CachedReference.FILE));
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }
      double encSec = (tEncoded - t0) / 1e9;
      double total = (t1 - t0) / 1e9;
      out.printf(Locale.ROOT, "tokenizer: %s (vocab %d), readout token %d (%s), chat template sha256 %s%n", tok.name(),
          tok.vocabSize(), ds.readoutToken(), options.rewardToken() == null ? "eos" : "reward token",
          ds.report().templateHash().length() > 12 ? ds.report().templateHash().substring(0, 12) : ds.report().templateHash());
      out.print(ds.report().table());
      for (String line : ds.report().summaryLines()) out.println("data " + line);
      Packer.Stats sep = ds.packingStats(0, DataOptions.Layout.SEPARATE);
      Packer.Stats shared = ds.packingStats(0, DataOptions.Layout.SHARED_PREFIX);
      out.printf(Locale.ROOT, "packing (budget %d tokens/batch, seed %d, epoch 0):%n", options.maxTokensPerBatch(), options.seed());
      out.printf(Locale.ROOT, "  separate      : %7d batches, %10d tokens, %10d slots, efficiency %.4f%s%n", sep.bins(),
          sep.realTokens(), sep.slots(), sep.efficiency(), options.layout() == DataOptions.Layout.SEPARATE ? "  (selected)" : "");
      out.printf(Locale.ROOT, "  shared_prefix : %7d batches, %10d tokens, %10d slots, efficiency %.4f%s%n", shared.bins(),
          shared.realTokens(), shared.slots(), shared.efficiency(), options.layout() == DataOptions.Layout.SHARED_PREFIX ? "  (selected)" : "");
      out.printf(Locale.ROOT, "  shared-prefix saving: %.3fx fewer tokens (%d -> %d)%n", sep.sharedPrefixSaving(),
          sep.separateTokens(), sep.sharedPrefixTokens());
      out.printf(Locale.ROOT, "time: %.2f s (read+tokenize+pack %.2f s, %.0f tokens/s; cache write %.2f s), wrote %s (%d pairs)%n",
          total, encSec, ds.report().tokens() / encSec, (t1 - tEncoded) / 1e9, output, ds.size());
      out.flush();
      return 0;
    }
  }
}
