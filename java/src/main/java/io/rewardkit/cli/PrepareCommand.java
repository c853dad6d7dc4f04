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
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** `rewardkit prepare`: tokenize + pack preference data once into a memory-mappable cache. */
@Command(name = "prepare", mixinStandardHelpOptions = true,
    description = "Tokenize and pack preference data (JSONL/JSON[.gz], Parquet or Arrow files, directories, "
        + "datasets.save_to_disk folders, or ORG/NAME from the local Hugging Face cache) into a prepared cache.")
public final class PrepareCommand implements Callable<Integer> {

  /** Data options shared by prepare, train and eval (`@Mixin PrepareCommand.DataArgs`). */
  public static final class DataArgs {
    @Option(names = "--tokenizer", defaultValue = "byte",
        description = "tokenizer.json (or its directory), or 'byte' for the built-in byte tokenizer (default: ${DEFAULT-VALUE})")
    public String tokenizer;
    @Option(names = "--format", defaultValue = "auto", description = "auto, hh-rlhf, text, messages, conversation, ranked (NeMo context + completions with rank)")
    public String format;
    @Option(names = "--prompt_key", defaultValue = "prompt", description = "prompt field (default: ${DEFAULT-VALUE})") public String promptKey;
    @Option(names = "--chosen_key", defaultValue = "chosen", description = "preferred response field (default: ${DEFAULT-VALUE})") public String chosenKey;
    @Option(names = "--rejected_key", defaultValue = "rejected", description = "dispreferred response field (default: ${DEFAULT-VALUE})") public String rejectedKey;
    @Option(names = "--margin_key", defaultValue = "margin", description = "optional numeric margin field") public String marginKey;
    @Option(names = "--rating_key", description = "rating label field mapped through --rating_margins") public String ratingKey;
    @Option(names = "--rating_margins", description = "label=margin,... or 'llama2'") public String ratingMargins;
    @Option(names = "--chat_template", defaultValue = "auto", description = "auto (tokenizer's), none, or a .jinja/.json file")
    public String chatTemplate;
    @Option(names = "--reward_token", description = "readout token appended to each sequence (id or token string); default: the EOS token")
    public String rewardToken;
    @Option(names = "--max_length", defaultValue = "4096", description = "longest sequence: prompt + response + readout (default: ${DEFAULT-VALUE})") public int maxLength;
    @Option(names = "--truncation", defaultValue = "drop", description = "drop, prompt_left, response_right") public String truncation;
    @Option(names = "--layout", defaultValue = "separate", description = "separate, shared_prefix") public String layout;
    @Option(names = "--max_tokens_per_batch", defaultValue = "16384", description = "token budget per packed batch, >= 2 x max_length (default: ${DEFAULT-VALUE})") public int maxTokensPerBatch;
    @Option(names = "--seed", defaultValue = "42", description = "seed of the per-epoch shuffle and eval split (default: ${DEFAULT-VALUE})") public long seed;
    @Option(names = "--on_bad_record", defaultValue = "fail", description = "fail (first error shown) or skip (counted by reason)")
    public String onBadRecord;
    @Option(names = "--max_record_bytes", defaultValue = "" + DataOptions.DEFAULT_MAX_RECORD_BYTES, description = "largest JSON record accepted (default: ${DEFAULT-VALUE})") public int maxRecordBytes;
    @Option(names = "--score_keys", paramLabel = "CHOSEN,REJECTED", description = "numeric score fields whose difference is the margin, e.g. score_chosen,score_rejected (UltraFeedback) or chosen_rating,rejected_rating (Tulu)")
    public String scoreKeys;
    @Option(names = "--dataset_split", paramLabel = "SPLIT", description = "split of a Hub-cache dataset (ORG/NAME) or save_to_disk DatasetDict (default: train)")
    public String datasetSplit;
    @Option(names = "--dataset_config", paramLabel = "NAME", description = "config (subset) of a Hub-cache dataset with several (default: its default config)")
    public String datasetConfig;

    public DataOptions options() {
      return new DataOptions(DataOptions.Format.parse(format), promptKey, chosenKey, rejectedKey, marginKey, ratingKey,
          DataOptions.parseRatingMargins(ratingMargins), chatTemplate, rewardToken, maxLength,
          DataOptions.Truncation.parse(truncation), DataOptions.Layout.parse(layout), maxTokensPerBatch, seed,
          DataOptions.OnBadRecord.parse(onBadRecord), maxRecordBytes, scoreKeys, datasetSplit, datasetConfig).validate();
    }

    public Tokenizer openTokenizer() {
      if (tokenizer.equalsIgnoreCase("byte")) return new ByteTokenizer();
      return HfTokenizer.load(Path.of(tokenizer));
    }
  }

  @Parameters(arity = "1..*", paramLabel = "INPUT", description = "data files, directories, save_to_disk folders, or ORG/NAME in the local Hugging Face cache (one dataset each)")
  List<Path> inputs;

  @Option(names = {"-o", "--output"}, required = true, description = "cache directory to write (replaced atomically)")
  Path output;

  @Mixin DataArgs data = new DataArgs();

  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    DataOptions options = data.options();
    long tLoad = System.nanoTime();
    try (Tokenizer tok = data.openTokenizer()) {
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
      PreparedCache.write(output, ds, tok);
      long t1 = System.nanoTime();
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
