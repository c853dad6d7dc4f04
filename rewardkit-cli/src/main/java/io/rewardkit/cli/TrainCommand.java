package io.rewardkit.cli;

import io.rewardkit.RewardKitException;
import io.rewardkit.config.Cmd;
import io.rewardkit.config.OptionValues;
import io.rewardkit.data.DataOptions;
import io.rewardkit.io.AtomicFiles;
import io.rewardkit.model.ModelConfig;
import io.rewardkit.data.Tokenizer;
import io.rewardkit.model.AvailableMemory;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backends;
import io.rewardkit.kernels.CudaSupport;
import io.rewardkit.kernels.Device;
import io.rewardkit.model.MemoryPlan;
import io.rewardkit.model.RewardModel;
import io.rewardkit.model.lora.LoraAdapters;
import io.rewardkit.train.CheckpointContent;
import io.rewardkit.train.ModelAdapter;
import io.rewardkit.train.PairSource;
import io.rewardkit.train.RunDirectory;
import io.rewardkit.train.RunSetup;
import io.rewardkit.train.SyntheticTask;
import io.rewardkit.train.TrainConfig;
import io.rewardkit.train.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code rewardkit train}: TRL-style options (same names in a --config YAML file; the command line
 * wins). With no model and no dataset it trains the embedded default: a small model with the byte
 * tokenizer on a synthetic copy-checking preference task.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Train a reward model on preference pairs (Bradley-Terry / focal loss), or with --task",
        "dpo|ipo|cpo|simpo|orpo|kto the model itself as a policy (an HF *ForCausalLM is written).",
        "With no model and no dataset: the embedded default run (synthetic task, byte",
        "tokenizer, tiny model). With a prepared cache as --dataset, the data options and",
        "the tokenizer default to the cache's. TRL / OpenRLHF names are accepted where the",
        "meaning is the same; their options RewardKit does not take",
        "(--per_device_train_batch_size, --report_to, --fp16, ...) print what to use instead."})
public final class TrainCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** Where --merge_lora writes the merged checkpoint, beside final/ (the adapter, as in every LoRA run). */
  static final String MERGED_DIR = "final-merged";

  /**
   * The run's options: registry defaults, then --config, then the command line; under them the
   * run's saved options on --resume (the Trainer refuses changes outside the registry's resumable
   * options), else the embedded-default profile and a prepared cache's data options.
   */
  TrainConfig buildConfig() {
    OptionValues v = CliOptions.values(Cmd.TRAIN, spec, spec.commandLine().getErr());
    TrainConfig c = TrainConfig.from(v);
    if (resuming(c)) {
      Path dir = Path.of(c.outputDir);
      if (!v.given("output_dir") && !c.resume.equals("latest") && !c.resume.equals("true")) {
        dir = Path.of(c.resume).toAbsolutePath().normalize().getParent();
      }
      TrainConfig saved = TrainConfig.fromJson(RunSetup.savedConfig(dir, c.resume));
      saved.outputDir = v.given("output_dir") ? c.outputDir : dir.toString();
      OptionValues base = saved.values();
      for (String name : base.asMap().keySet()) {
        if (!v.given(name) && !name.equals("config")) v.set(name, base.get(name), "the run's saved options");
      }
    } else {
      if (c.isEmbeddedDefault()) RunSetup.embedded(v);
      RunSetup.adoptCache(v, System.out);
    }
    c = TrainConfig.from(v);
    c.validate();
    return c;
  }

  private static boolean resuming(TrainConfig c) {
    return c.resume != null && !c.resume.isEmpty() && !c.resume.equals("false");
  }

  @Override
  public Integer call() throws Exception {
    TrainConfig c = buildConfig();
    if (!c.task.equals("reward")) return io.rewardkit.policy.PolicyRun.run(c, System.out);  // dpo, ipo, ...
    boolean embedded = c.isEmbeddedDefault();
    if (embedded && !resuming(c)) {
      System.out.println("rewardkit: no model or dataset given: training the embedded default (a " + "tiny Llama-style model, byte "
          + "tokenizer, synthetic task: does the response copy the prompt's string exactly?)");
    }
    if (c.dryRun) return dryRun(c);
    try (Backend backend = Backends.select(c.device, c.bf16); Tokenizer tok = RunSetup.tokenizer(c)) {
      ModelConfig mc = RunSetup.modelConfig(c);
      RunSetup.checkFits(c, mc, tok);
      // The plan, and a run that cannot fit stopped, before anything is loaded.
      MemoryPlan.Available avail = AvailableMemory.of(backend);
      System.out.println(MemoryPlan.shortLine(MemoryPlanReport.ofRun(c, mc, backend.device()), backend.device(),
          c.maxTokensPerBatch, avail));
      MemoryPlanReport.requireFits(c, mc, backend.device(), avail);
      // Locked before the data is read: a second writer fails at once, not after minutes of loading.
      try (RunDirectory run = RunDirectory.acquire(Path.of(c.outputDir))) {
        Trainer.Result result;
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
          model.setGradientCheckpointing(c.gradientCheckpointing);
          LoraAdapters lora = RunSetup.lora(c, model);
          if (lora != null) System.out.println(RunSetup.loraLine(lora, model));
          result = new Trainer(c, new ModelAdapter(model, lora), train, eval, content, System.out).in(run)
              .describe(RunSetup.describe(c, model, tok, data)).train();
        } catch (OutOfMemoryError e) {
          throw new RewardKitException(MemoryAdvice.training(mc, backend.device(), c.gradientCheckpointing, c.maxTokensPerBatch, e), e);
        }
        // after the trained model is freed: the merge loads the original base again (never the 4-bit copy)
        if (c.mergeLora) {
          Path out = result.outputDir().toAbsolutePath().normalize();
          System.out.println(ExportCommand.merge(out.resolve("final"), out.resolve(MERGED_DIR), c.saveDtype, System.out)
              .replaceFirst("^export: ", "merge_lora: "));
        }
        summarize(c, result, embedded);
      }
    }
    return 0;
  }

  /**
   * --dry_run: the plan from the config alone; nothing is loaded or written. A CUDA plan on a machine
   * without a GPU is printed without the fit check.
   */
  private static int dryRun(TrainConfig c) {
    try (Tokenizer tok = RunSetup.tokenizer(c)) {
      ModelConfig mc = RunSetup.modelConfig(c);
      RunSetup.checkFits(c, mc, tok);
      boolean gpu = CudaSupport.probe().available();
      boolean cuda = c.device.equals("cuda") || c.device.equals("auto") && gpu;
      MemoryPlan.Available avail;
      if (!cuda) {
        avail = AvailableMemory.cpu();
      } else if (gpu) {
        try (Backend backend = Backends.select("cuda")) {
          avail = AvailableMemory.of(backend);
        }
      } else {
        avail = new MemoryPlan.Available(0, "no CUDA device here");
      }
      return MemoryPlanReport.dryRun(c, mc, cuda ? Device.CUDA : Device.CPU, avail, System.out);
    }
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
    if (c.usePeft) {
      System.out.println("  final/            PEFT LoRA adapter (adapter_config.json, adapter_model.safetensors with the score head,"
          + " rewardkit.json); `rewardkit export --model " + out.resolve("final") + " --merge --output_dir DIR` writes it merged");
      if (c.mergeLora) {
        System.out.println("  " + MERGED_DIR + "/     the adapter merged onto " + c.modelNameOrPath + " (its original weights):"
            + " a full *ForSequenceClassification checkpoint (--merge_lora)");
      }
    } else {
      System.out.println("  final/            HF-loadable reward model (config.json, model.safetensors, rewardkit.json)");
    }
    System.out.println("  checkpoint-*/     resumable checkpoints (rewardkit train --resume)");
    System.out.println("  metrics.jsonl     run_start, train, eval and run_end records (TRL metric names)");
    // Listed only when written: --report false leaves no report behind.
    if (Files.isRegularFile(out.resolve("report").resolve("index.html"))) {
      System.out.println("  report/index.html which run it is, final eval by length, loss/accuracy/lr/grad-norm charts");
    }
    String input = "prompts.jsonl";
    if (embedded) {
      Path example = out.resolve("score-example.jsonl");
      List<String> lines = new ArrayList<>();
      for (SyntheticTask.Example e : SyntheticTask.generate(3, 777)) {
        lines.add("{\"prompt\": \"" + e.prompt() + "\", \"responses\": [\"" + e.rejected() + "\", \"" + e.chosen() + "\"]}");
      }
      AtomicFiles.writeLines(example, lines);
      input = example.toString();
    }
    Path model = out.resolve("final");
    System.out.println("score responses:  ./rewardkit score --model " + model + " --input " + input + " --best_of_n");
    System.out.println("evaluate pairs:   ./rewardkit eval --model " + model + " --dataset PAIRS.jsonl");
  }
}
