package io.rewardkit.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.UsageException;
import io.rewardkit.config.Cmd;
import io.rewardkit.config.OptionValues;
import io.rewardkit.data.PadToken;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backends;
import io.rewardkit.model.RewardModel;
import io.rewardkit.model.lora.LoraAdapters;
import io.rewardkit.model.lora.LoraMerge;
import io.rewardkit.model.lora.PeftAdapter;
import io.rewardkit.train.Checkpoints;
import io.rewardkit.train.RunSetup;
import io.rewardkit.train.SaveDtype;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code rewardkit export --merge}: a LoRA adapter directory (RewardKit's or PEFT's) merged into its
 * base model, written as a full HF {@code *ForSequenceClassification} checkpoint (config.json,
 * model.safetensors with the adapter's score head, tokenizer files, rewardkit.json) that every
 * backend, transformers and vLLM read without PEFT; a policy's CAUSAL_LM adapter ({@code train --task ...
 * --use_peft}) as a full {@code *ForCausalLM} ({@link io.rewardkit.policy.PolicyAdapter#export}).
 */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Write a LoRA adapter merged into its base model as a full checkpoint.",
        "--model is an adapter directory (adapter_config.json; its base_model_name_or_path",
        "must be on this machine), e.g. runs/x/final of a --use_peft run: a reward",
        "model's (SEQ_CLS) becomes a *ForSequenceClassification, a policy's (CAUSAL_LM,",
        "train --task ... --use_peft) a *ForCausalLM."})
public final class ExportCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    OptionValues v = CliOptions.values(Cmd.EXPORT, spec, spec.commandLine().getErr());
    if (!v.getBool("merge")) {
      throw new UsageException("export writes a LoRA adapter merged into its base: give --merge");
    }
    Path out = Path.of(v.getString("output_dir"));
    Path in = Checkpoints.resolveModelDir(Path.of(v.getString("model")));
    if (!PeftAdapter.isAdapter(in)) {
      throw new UsageException("--model " + in + " is not a LoRA adapter (no " + PeftAdapter.CONFIG + "): nothing to merge;"
          + " it is already a full checkpoint");
    }
    if (Files.exists(out) && (!Files.isDirectory(out) || Files.list(out).findAny().isPresent())) {
      throw new UsageException("--output_dir " + out + " exists and is not empty: give a new directory");
    }
    if (PeftAdapter.task(in) == PeftAdapter.Task.CAUSAL_LM) {  // a policy's (train --task ... --use_peft)
      try (Backend backend = Backends.select("cpu")) {
        System.out.println(io.rewardkit.policy.PolicyAdapter.export(in, out, v.getString("save_dtype"), backend));
      }
      return 0;
    }
    System.out.println(merge(in, out, v.getString("save_dtype"), System.err));
    return 0;
  }

  /**
   * Merges the reward-model (SEQ_CLS) adapter directory {@code in} onto its base as {@code base_model_name_or_path}
   * names it (the original weights, read from disk) and writes the full checkpoint to {@code out} (replaced if
   * present). Also what {@code train --merge_lora} runs on its final/, so the two write the same bytes. Returns the
   * summary line; notices go to {@code notices}.
   */
  static String merge(Path in, Path out, String saveDtype, java.io.PrintStream notices) throws java.io.IOException {
    try (Backend backend = Backends.select("cpu")) {
      RunSetup.Loaded m = RunSetup.open(in, backend);
      if (m.notice() != null) notices.println(m.notice());
      try (RewardModel model = m.model(); var tok = m.tokenizer()) {
        LoraAdapters ad = (LoraAdapters) model.linearHook();
        String base = ad.baseModel();
        LoraMerge.merge(model, ad);
        String dtype = SaveDtype.resolve(saveDtype, base);
        PadToken pad = pad(m.manifest());
        Path tokDir = Files.isRegularFile(in.resolve("tokenizer.json")) ? in : Path.of(base);
        Checkpoints.writeAtomically(out, dir -> {
          model.saveHf(dir, SaveDtype.storage(dtype), RewardModel.DEFAULT_SHARD_BYTES);
          Checkpoints.patchHfConfig(dir.resolve("config.json"), pad);
          Map<String, Path> files = new LinkedHashMap<>();
          for (String f : RunSetup.TOKENIZER_FILES) if (Files.isRegularFile(tokDir.resolve(f))) files.put(f, tokDir.resolve(f));
          Checkpoints.copyFiles(files, dir);
          Checkpoints.patchTokenizerPad(dir, pad);
          if (m.manifest().path("format").asText().equals("rewardkit")) {
            ObjectNode man = m.manifest().deepCopy();
            ObjectNode from = man.putObject("merged_from");
            from.put("adapter", in.toAbsolutePath().normalize().toString());
            from.put("base_model_name_or_path", base);
            Checkpoints.writeJson(dir.resolve(Checkpoints.MANIFEST), man);
          }
        });
        return "export: " + in + " (LoRA r " + ad.config().r() + ", " + String.join(",", ad.config().targetNames())
            + ") merged into " + base + " -> " + out + " (" + dtype + ", full *ForSequenceClassification checkpoint)";
      }
    }
  }

  /** The pad token a RewardKit manifest records (never the reward token), or null (the base config's stays). */
  private static PadToken pad(ObjectNode manifest) {
    var r = manifest.path("readout");
    if (!r.hasNonNull("pad_token_id")) return null;
    return new PadToken(r.path("pad_token").asText(), r.get("pad_token_id").asInt(), r.path("pad_token_source").asText());
  }
}
