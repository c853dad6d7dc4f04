package io.rewardkit.policy;

import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.model.lora.LoraAdapters;
import io.rewardkit.model.lora.PeftAdapter;
import io.rewardkit.train.Checkpoints;
import io.rewardkit.train.RunSetup;
import io.rewardkit.train.SaveDtype;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A policy's PEFT {@code CAUSAL_LM} LoRA adapter directory (what {@code train --task ... --use_peft} writes, or PEFT
 * itself) on its base {@code *ForCausalLM}: opened unmerged, as PEFT computes it, or merged into the base and written
 * as a full checkpoint ({@code rewardkit export --merge}).
 */
public final class PolicyAdapter {
  private PolicyAdapter() {}

  /**
   * The base named by the adapter's base_model_name_or_path (on disk; loaded frozen) with the adapter's LoRA installed.
   * Errors name the file and field (another task, a base that is not there, shapes of another base).
   */
  public static PolicyModel open(Path adapterDir, Backend backend) {
    PeftAdapter.Info info = PeftAdapter.read(adapterDir, PeftAdapter.Task.CAUSAL_LM);
    Path base = RunSetup.adapterBase(info);
    PolicyModel m = PolicyModel.fromPretrained(base, backend, DType.F32, false);
    try {
      PeftAdapter.checkBase(info, m.config(), base);
      LoraAdapters ad = new LoraAdapters(m.config(), info.lora(), backend, m.dtype());
      m.attach(ad);
      PeftAdapter.load(info.dir(), ad, null, backend);
      ad.setBaseModel(info.baseModel(), info.revision());
      return m;
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
  }

  /**
   * Merges the adapter in {@code adapterDir} into its base and writes {@code out} atomically: config.json and
   * model.safetensors of the base's {@code *ForCausalLM} (the LM head as the base has it, tied or not; each merged
   * weight W + scaling · B · A summed in float64, rounded once), in {@code saveDtype} (auto: the base's), plus the
   * tokenizer files of the adapter directory or else of the base. Returns the line to print.
   */
  public static String export(Path adapterDir, Path out, String saveDtype, Backend backend) throws IOException {
    try (PolicyModel m = open(adapterDir, backend)) {
      LoraAdapters ad = m.adapters();
      String base = ad.baseModel(), targets = String.join(",", ad.config().targetNames());
      int r = ad.config().r();
      m.mergeAdapters();
      String dtype = SaveDtype.resolve(saveDtype, base);
      Path tokDir = Files.isRegularFile(adapterDir.resolve("tokenizer.json")) ? adapterDir : Path.of(base);
      Checkpoints.writeAtomically(out, dir -> {
        m.saveHf(dir, SaveDtype.storage(dtype));
        Map<String, Path> files = new LinkedHashMap<>();
        for (String f : RunSetup.TOKENIZER_FILES) if (Files.isRegularFile(tokDir.resolve(f))) files.put(f, tokDir.resolve(f));
        Checkpoints.copyFiles(files, dir);
      });
      return "export: " + adapterDir + " (CAUSAL_LM LoRA r " + r + ", " + targets + ") merged into " + base + " -> " + out
          + " (" + dtype + ", full " + m.config().family().causalLmArchitecture() + " checkpoint, "
          + (m.tied() ? "tied" : "untied") + " LM head as in the base)";
    }
  }
}
