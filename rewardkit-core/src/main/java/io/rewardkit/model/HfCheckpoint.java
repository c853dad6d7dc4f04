package io.rewardkit.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.RewardKitException;
import io.rewardkit.io.AtomicFiles;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Nf4Weight;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.safetensors.SafetensorsCheckpoint;
import io.rewardkit.model.safetensors.SafetensorsFile;
import io.rewardkit.model.safetensors.SafetensorsWriter;
import io.rewardkit.model.safetensors.StDType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Checkpoint I/O of a {@link RewardModel} in HF's layout: {@code config.json} plus safetensors
 * (one file, or shards with an index), as {@code <Family>ForSequenceClassification} with one label.
 */
final class HfCheckpoint {
  private HfCheckpoint() {}

  /** See {@link RewardModel#fromPretrained(Path, Backend, DType, long, boolean)}. */
  static RewardModel load(Path hfDir, Backend backend, DType dtype, long seed, boolean trainBase) {
    return load(hfDir, backend, dtype, seed, trainBase, Set.of());
  }

  /** As above; the decoder linears of {@code nf4} are quantised to NF4 as they are read (see {@link RewardModel#fromPretrained4bit}). */
  static RewardModel load(Path hfDir, Backend backend, DType dtype, long seed, boolean trainBase, Set<LinearModule> nf4) {
    ModelConfig cfg = ModelConfig.load(hfDir);
    boolean seqCls = architectures(cfg).stream().anyMatch(a -> a.endsWith("ForSequenceClassification"));
    RewardModel m = new RewardModel(cfg, backend, dtype, (Files.isDirectory(hfDir) ? hfDir.resolve("config.json") : hfDir).toString(),
        trainBase, nf4);
    ModelParameters params = m.params();
    List<ModelParameters.Spec> nf4Specs = ModelParameters.nf4Specs(cfg, nf4);
    try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(hfDir)) {
      Set<String> expected = new LinkedHashSet<>();
      for (Parameter p : params.all) expected.add(p.hfName());
      for (ModelParameters.Spec s : nf4Specs) expected.add(s.name());
      List<String> unknown = new ArrayList<>();
      for (String name : ckpt.names()) {
        if (expected.contains(name)) continue;
        // lm_head is the causal-LM head a reward model replaces; old Llama exports carry rope buffers.
        if (name.equals("lm_head.weight") || name.endsWith(".rotary_emb.inv_freq")) continue;
        unknown.add(name);
      }
      if (!unknown.isEmpty()) {
        throw new RewardKitException(hfDir + ": checkpoint has " + unknown.size() + " tensor(s) a " + cfg.family().modelType()
            + " reward model does not have: " + preview(unknown));
      }
      boolean initScore = !ckpt.has("score.weight");
      if (initScore && seqCls) {
        throw new RewardKitException(hfDir + ": config says ForSequenceClassification but tensor 'score.weight' is missing");
      }
      List<String> missing = new ArrayList<>();
      for (String name : expected) if (!ckpt.has(name) && !(initScore && name.equals("score.weight"))) missing.add(name);
      if (!missing.isEmpty()) {
        throw new RewardKitException(hfDir + ": checkpoint lacks " + missing.size() + " tensor(s): " + preview(missing));
      }
      for (Parameter p : params.all) {
        if (initScore && p == params.score) continue;
        SafetensorsFile.Entry e = ckpt.entry(p.hfName());
        if (!Arrays.equals(e.shape(), p.weight().shape())) {
          throw new RewardKitException(ckpt.file(p.hfName()).path() + ": tensor '" + p.hfName() + "' has shape "
              + Arrays.toString(e.shape()) + ", expected " + Arrays.toString(p.weight().shape()) + " for this config");
        }
        read(ckpt.file(p.hfName()), p, backend, dtype);
      }
      for (ModelParameters.Spec s : nf4Specs) {
        SafetensorsFile.Entry e = ckpt.entry(s.name());
        if (!Arrays.equals(e.shape(), s.shape())) {
          throw new RewardKitException(ckpt.file(s.name()).path() + ": tensor '" + s.name() + "' has shape "
              + Arrays.toString(e.shape()) + ", expected " + Arrays.toString(s.shape()) + " for this config");
        }
        // one dense tensor at a time: read (checked for non-finite values), quantise, free
        try (Tensor dense = backend.allocate(dtype, s.shape())) {
          read(ckpt.file(s.name()), new Parameter(s.name(), dense, null, false), backend, dtype);
          params.nf4[ModelParameters.layerOf(s.name())][ModelParameters.linearOf(s.name()).ordinal()] = Nf4Weight.quantize(backend, dense);
        }
      }
      if (initScore) new ParameterInit(backend, dtype).normal(params.score, 1.0 / Math.sqrt(cfg.hiddenSize() + 1.0), seed);
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
    return m;
  }

  /** See {@link RewardModel#saveHf(Path, StDType, long)}. */
  static void save(RewardModel m, Path dir, StDType storeAs, long shardBytes) {
    Backend be = m.backend();
    List<SafetensorsWriter.TensorSpec> specs = new ArrayList<>();
    for (Parameter p : m.parameters()) {
      Tensor flat = p.weight().reshape(p.numel());
      specs.add(new SafetensorsWriter.TensorSpec(p.hfName(), storeAs, p.weight().shape(), (off, dst, n) -> {
        float[] vals = be.downloadFloats(flat.view(off, n));
        System.arraycopy(vals, 0, dst, 0, n);
      }));
    }
    String torchDtype = storeAs == StDType.BF16 ? "bfloat16" : "float32";
    String config = m.config().toSequenceClassificationJsonText(torchDtype);
    try {
      AtomicFiles.writeDirectory(dir, tmp -> {
        SafetensorsCheckpoint.write(tmp, specs, shardBytes);
        SafetensorsCheckpoint.writeTextAtomically(tmp.resolve("config.json"), config);
      });
    } catch (IOException e) {
      throw new RewardKitException(dir + ": cannot write checkpoint: " + e.getMessage(), e);
    }
  }

  private static List<String> architectures(ModelConfig cfg) {
    List<String> out = new ArrayList<>();
    if (cfg.rawJson() == null) return out;
    try {
      JsonNode a = new ObjectMapper().readTree(cfg.rawJson()).get("architectures");
      if (a != null && a.isArray()) a.forEach(n -> out.add(n.asText()));
    } catch (IOException e) {
      // already parsed once by ModelConfig
    }
    return out;
  }

  private static String preview(List<String> names) {
    return names.size() <= 8 ? String.join(", ", names) : String.join(", ", names.subList(0, 8)) + ", ...";
  }

  /**
   * Copies one tensor into its parameter. A NaN or infinite value is refused here, naming the file,
   * tensor and element: such a model would only show up later as a NaN loss or null scores.
   */
  private static void read(SafetensorsFile file, Parameter p, Backend be, DType dtype) {
    Tensor w = p.weight().reshape(p.numel());
    if (dtype == DType.F64) {
      file.readDoubles(p.hfName(), (off, vals, n) -> {
        for (int i = 0; i < n; i++) if (!Double.isFinite(vals[i])) throw nonFinite(file, p, off + i, vals[i]);
        be.upload(w.view(off, n), n == vals.length ? vals : Arrays.copyOf(vals, n));
      });
    } else {
      file.readFloats(p.hfName(), (off, vals, n) -> {
        for (int i = 0; i < n; i++) if (!Float.isFinite(vals[i])) throw nonFinite(file, p, off + i, vals[i]);
        be.upload(w.view(off, n), n == vals.length ? vals : Arrays.copyOf(vals, n));
      });
    }
  }

  private static RewardKitException nonFinite(SafetensorsFile file, Parameter p, long index, double value) {
    return new RewardKitException(file.path() + ": tensor '" + p.hfName() + "' has a non-finite value (" + value
        + ") at element " + index + "; the model is broken (a diverged or damaged save?)");
  }
}
