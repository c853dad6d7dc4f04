package io.rewardkit.model.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.LinearModule;
import io.rewardkit.model.ModelConfig;
import io.rewardkit.model.Parameter;
import io.rewardkit.model.safetensors.SafetensorsFile;
import io.rewardkit.model.safetensors.SafetensorsWriter;
import io.rewardkit.model.safetensors.StDType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PEFT LoRA adapter directory, as {@code PeftModel.save_pretrained} writes it and {@code PeftModel.from_pretrained
 * (AutoModelFor<Task>.from_pretrained(base), dir)} reads it: {@code adapter_config.json} and
 * {@code adapter_model.safetensors} with PEFT's keys ({@code base_model.model.model.layers.N.<module>.lora_A.weight} /
 * {@code lora_B.weight}). Two task models (see {@link Task}): a sequence-classification reward model
 * ({@code task_type SEQ_CLS}, {@code modules_to_save ["score"]}, the full score head saved as
 * {@code base_model.model.score.weight}; reading one without it is an error, a base model's head is random or absent)
 * and a causal-LM policy ({@code task_type CAUSAL_LM}, nothing but the adapters: the LM head stays the base's).
 */
public final class PeftAdapter {
  private PeftAdapter() {}

  public static final String CONFIG = "adapter_config.json";
  public static final String WEIGHTS = "adapter_model.safetensors";
  /** The saved key of the score head (PEFT strips its modules_to_save wrapper when saving). */
  public static final String HEAD_KEY = LoraAdapters.PREFIX + "score.weight";

  /**
   * The HF task model an adapter belongs to. Both hold the decoder as {@code .model}, so the LoRA keys are named by the
   * one rule of {@link LoraAdapters#keyA}; they differ in the head trained and saved in full beside the adapters.
   */
  public enum Task {
    /** A reward model ({@code *ForSequenceClassification}): the score head is trained and saved (modules_to_save). */
    SEQ_CLS("score"),
    /** A policy ({@code *ForCausalLM}): the LM head stays frozen, as PEFT leaves it for CAUSAL_LM by default. */
    CAUSAL_LM(null);

    private final String head;

    Task(String head) { this.head = head; }

    /** The module saved in full (modules_to_save), or null. */
    public String head() { return head; }

    /** Its saved key, or null. */
    public String headKey() { return head == null ? null : LoraAdapters.PREFIX + head + ".weight"; }
  }
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final Pattern LORA_KEY = Pattern.compile(
      Pattern.quote(LoraAdapters.PREFIX) + "model\\.layers\\.(\\d+)\\.(self_attn|mlp)\\.([a-z_]+)\\.lora_([AB])\\.weight");

  /** Whether dir holds an adapter (its adapter_config.json). */
  public static boolean isAdapter(Path dir) { return Files.isRegularFile(dir.resolve(CONFIG)); }

  /** What adapter_config.json says, checked: the LoRA setup, the base model it belongs to and its task. */
  public record Info(Path dir, LoraConfig lora, String baseModel, String revision, Task task) {}

  // ---- writing ----------------------------------------------------------------------------------

  /** Writes a reward model's adapter (SEQ_CLS: lora_A/B and the score head, as storeAs) into dir. */
  public static void write(Path dir, LoraAdapters ad, Parameter score, Backend be, StDType storeAs) throws IOException {
    write(dir, Task.SEQ_CLS, ad, score, be, storeAs);
  }

  /**
   * Writes adapter_config.json and adapter_model.safetensors (lora_A/B and, when the task has one, its head, as
   * storeAs) into dir.
   */
  public static void write(Path dir, Task task, LoraAdapters ad, Parameter head, Backend be, StDType storeAs) throws IOException {
    if ((head == null) != (task.head() == null)) {
      throw new IllegalArgumentException(task + " adapters " + (head == null ? "need their " + task.head() + " head" : "save no head"));
    }
    List<SafetensorsWriter.TensorSpec> specs = new ArrayList<>();
    for (Parameter p : ad.parameters()) specs.add(spec(p.hfName(), p.weight(), be, storeAs));
    if (head != null) specs.add(spec(task.headKey(), head.weight(), be, storeAs));
    SafetensorsWriter.write(dir.resolve(WEIGHTS), specs, Map.of("format", "pt"));
    io.rewardkit.io.AtomicFiles.writeString(dir.resolve(CONFIG), JSON.writeValueAsString(config(ad, task)) + "\n");
  }

  private static SafetensorsWriter.TensorSpec spec(String name, Tensor w, Backend be, StDType storeAs) {
    Tensor flat = w.reshape(w.numel());
    return new SafetensorsWriter.TensorSpec(name, storeAs, w.shape(), (off, dst, n) ->
        System.arraycopy(be.downloadFloats(flat.view(off, n)), 0, dst, 0, n));
  }

  /** adapter_config.json: PEFT's LoraConfig fields for a plain LoRA on a task model (PEFT fills the rest with its defaults). */
  static Map<String, Object> config(LoraAdapters ad, Task task) {
    LoraConfig c = ad.config();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("peft_type", "LORA");
    m.put("task_type", task.name());
    m.put("base_model_name_or_path", ad.baseModel());
    m.put("revision", ad.baseRevision());
    m.put("r", c.r());
    m.put("lora_alpha", c.alpha() == Math.rint(c.alpha()) ? (Object) (long) c.alpha() : (Object) c.alpha());
    m.put("lora_dropout", c.dropout());
    m.put("use_rslora", c.useRslora());
    m.put("target_modules", c.targetNames());
    m.put("modules_to_save", task.head() == null ? null : List.of(task.head()));
    m.put("bias", "none");
    m.put("fan_in_fan_out", false);
    m.put("init_lora_weights", true);
    m.put("use_dora", false);
    m.put("inference_mode", true);
    m.put("layers_to_transform", null);
    m.put("layers_pattern", null);
    m.put("rank_pattern", Map.of());
    m.put("alpha_pattern", Map.of());
    return m;
  }

  // ---- reading ----------------------------------------------------------------------------------

  /** A reward model's adapter: {@link #read(Path, Task)} with SEQ_CLS. */
  public static Info read(Path dir) { return read(dir, Task.SEQ_CLS); }

  /** The task_type adapter_config.json declares, or null when it names none RewardKit knows. */
  public static Task task(Path dir) {
    String t = readConfig(dir.resolve(CONFIG)).path("task_type").asText("");
    for (Task k : Task.values()) if (k.name().equals(t)) return k;
    return null;
  }

  private static JsonNode readConfig(Path cf) {
    JsonNode c;
    try {
      c = JSON.readTree(cf.toFile());
    } catch (IOException e) {
      throw new RewardKitException(cf + ": cannot read: " + io.rewardkit.config.JsonErrors.describe(e), e);
    }
    if (!(c instanceof ObjectNode)) throw new RewardKitException(cf + ": not a JSON object");
    return c;
  }

  /**
   * Reads and checks adapter_config.json and the adapter's tensor names (without loading values).
   * Refused, naming the file and field: another PEFT method or task than {@code task}, DoRA, LoRA biases,
   * per-module ranks, modules adapted in some layers only, a SEQ_CLS adapter without the score head, and a
   * CAUSAL_LM adapter with anything besides lora_A/lora_B (a trained lm_head or embedding in modules_to_save).
   */
  public static Info read(Path dir, Task task) {
    Path cf = dir.resolve(CONFIG);
    JsonNode c = readConfig(cf);
    require(cf, "peft_type", c.path("peft_type").asText("LORA").equals("LORA"), "only LORA adapters are supported");
    require(cf, "task_type", c.path("task_type").asText("").equals(task.name()), task == Task.SEQ_CLS
        ? "must be SEQ_CLS (a reward model's adapter; a CAUSAL_LM adapter has no score head: merge a policy's adapter with "
            + "rewardkit export --merge)"
        : "must be CAUSAL_LM (a policy's adapter; a SEQ_CLS one belongs to a reward model)");
    require(cf, "use_dora", !c.path("use_dora").asBoolean(false), "DoRA is not supported");
    require(cf, "bias", c.path("bias").asText("none").equals("none"), "only 'none' is supported");
    require(cf, "lora_bias", !c.path("lora_bias").asBoolean(false), "LoRA biases are not supported");
    require(cf, "fan_in_fan_out", !c.path("fan_in_fan_out").asBoolean(false), "only false (nn.Linear layout) is supported");
    require(cf, "rank_pattern", c.path("rank_pattern").isEmpty(), "per-module ranks are not supported");
    require(cf, "alpha_pattern", c.path("alpha_pattern").isEmpty(), "per-module alphas are not supported");
    require(cf, "r", c.path("r").canConvertToInt() && c.path("r").asInt() >= 1, "must be an integer >= 1");
    require(cf, "lora_alpha", c.path("lora_alpha").isNumber(), "must be a number");
    Path wf = dir.resolve(WEIGHTS);
    if (!Files.isRegularFile(wf)) {
      throw new RewardKitException(wf + ": missing (an adapter directory needs " + WEIGHTS
          + "; adapter_model.bin from older PEFT is not read: re-save it with safe_serialization=True)");
    }
    Set<LinearModule> targets = EnumSet.noneOf(LinearModule.class);
    try (SafetensorsFile f = SafetensorsFile.open(wf)) {
      String headKey = task.headKey();
      if (headKey != null && !f.entries().containsKey(headKey)) {
        throw new RewardKitException(wf + ": no score head ('" + HEAD_KEY + "'): the adapter was saved without"
            + " modules_to_save=[\"score\"], so the reward head it was trained with is lost; a base model's head would be"
            + " random. Re-save it from the training run with the head included");
      }
      Map<Integer, Set<LinearModule>> byLayer = new java.util.TreeMap<>();
      for (String k : f.entries().keySet()) {
        if (k.equals(headKey)) continue;
        Matcher mm = LORA_KEY.matcher(k);
        LinearModule m = mm.matches() ? LinearModule.byHfName(mm.group(3)) : null;
        if (m == null) throw new RewardKitException(wf + ": tensor '" + k + "' is not a LoRA weight of a decoder linear module"
            + (headKey != null ? " nor the score head" : "") + "; this adapter adapts something RewardKit cannot (embeddings, "
            + (headKey != null ? "" : "a trained lm_head, ") + "norms, other modules)");
        byLayer.computeIfAbsent(Integer.parseInt(mm.group(1)), x -> EnumSet.noneOf(LinearModule.class)).add(m);
        targets.add(m);
      }
      if (targets.isEmpty()) throw new RewardKitException(wf + ": no lora_A/lora_B tensors");
      for (var e : byLayer.entrySet()) {
        if (!e.getValue().equals(targets)) {
          throw new RewardKitException(wf + ": layer " + e.getKey() + " adapts " + names(e.getValue()) + " but other layers "
              + names(targets) + "; adapters on some layers only are not supported");
        }
      }
    }
    LoraConfig lora = new LoraConfig(c.path("r").asInt(), c.path("lora_alpha").asDouble(), 0.0, targets,
        c.path("use_rslora").asBoolean(false));
    String base = c.hasNonNull("base_model_name_or_path") ? c.get("base_model_name_or_path").asText() : null;
    String rev = c.hasNonNull("revision") ? c.get("revision").asText() : null;
    return new Info(dir, lora, base, rev, task);
  }

  private static String names(Set<LinearModule> ms) {
    Set<String> n = new TreeSet<>();
    for (LinearModule m : ms) n.add(m.hfName());
    return String.join(",", n);
  }

  private static void require(Path file, String field, boolean ok, String what) {
    if (!ok) throw new RewardKitException(file + ": field '" + field + "': " + what);
  }

  /**
   * Loads the adapter's lora_A/B into {@code ad} and its score head into {@code score} (null: a CAUSAL_LM adapter,
   * no head); every tensor must be there with the shape the model config gives (the error names the file, tensor
   * and both shapes).
   */
  public static void load(Path dir, LoraAdapters ad, Parameter score, Backend be) {
    Path wf = dir.resolve(WEIGHTS);
    try (SafetensorsFile f = SafetensorsFile.open(wf)) {
      List<Parameter> all = new ArrayList<>(ad.parameters());
      for (Parameter p : all) copy(f, p.hfName(), p.weight(), be);
      if (score != null) copy(f, HEAD_KEY, score.weight(), be);
    }
  }

  private static void copy(SafetensorsFile f, String key, Tensor dst, Backend be) {
    SafetensorsFile.Entry e = f.entries().get(key);
    if (e == null) throw new RewardKitException(f.path() + ": tensor '" + key + "' is missing");
    if (!Arrays.equals(e.shape(), dst.shape())) {
      throw new RewardKitException(f.path() + ": tensor '" + key + "' has shape " + Arrays.toString(e.shape()) + ", expected "
          + Arrays.toString(dst.shape()) + " for this base model and r");
    }
    Tensor flat = dst.reshape(dst.numel());
    if (dst.dtype() == DType.F64) {
      f.readDoubles(key, (off, vals, n) -> {
        for (int i = 0; i < n; i++) if (!Double.isFinite(vals[i])) throw nonFinite(f, key, off + i);
        be.upload(flat.view(off, n), n == vals.length ? vals : Arrays.copyOf(vals, n));
      });
    } else {
      f.readFloats(key, (off, vals, n) -> {
        for (int i = 0; i < n; i++) if (!Float.isFinite(vals[i])) throw nonFinite(f, key, off + i);
        be.upload(flat.view(off, n), n == vals.length ? vals : Arrays.copyOf(vals, n));
      });
    }
  }

  private static RewardKitException nonFinite(SafetensorsFile f, String key, long i) {
    return new RewardKitException(f.path() + ": tensor '" + key + "' has a non-finite value at element " + i);
  }

  /** The config the adapter's matrices need; checked against the base model's. */
  public static void checkBase(Info info, ModelConfig base, Path baseDir) {
    // shapes are checked tensor by tensor in load(); the layer count here gives the clearer message
    Path wf = info.dir().resolve(WEIGHTS);
    try (SafetensorsFile f = SafetensorsFile.open(wf)) {
      int maxLayer = -1;
      for (String k : f.entries().keySet()) {
        Matcher mm = LORA_KEY.matcher(k);
        if (mm.matches()) maxLayer = Math.max(maxLayer, Integer.parseInt(mm.group(1)));
      }
      if (maxLayer + 1 != base.numHiddenLayers()) {
        throw new RewardKitException(wf + ": adapts " + (maxLayer + 1) + " layers, but the base model " + baseDir + " has "
            + base.numHiddenLayers() + " (num_hidden_layers): is this adapter for another base model?");
      }
    }
  }
}
