package io.rewardkit.policy;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.DType;
import io.rewardkit.model.LinearModule;
import io.rewardkit.model.TrainableModel;
import io.rewardkit.model.lora.LoraAdapters;
import io.rewardkit.model.lora.LoraConfig;
import io.rewardkit.model.lora.PeftAdapter;
import io.rewardkit.model.lora.PeftRoundTripTest;
import io.rewardkit.model.safetensors.SafetensorsCheckpoint;
import io.rewardkit.model.safetensors.SafetensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * LoRA policies against PEFT (goldens from tools/peft_policy_roundtrip.py, resources/peft_policy): a CAUSAL_LM adapter
 * PEFT wrote (untied base) and one RewardKit's DPO run wrote (tied base), read by RewardKit, give the per-token
 * response log-probs PEFT computed, unmerged and merged; RewardKit writes byte for byte the adapter PEFT read; the
 * export of a merged adapter equals the adapted forward; a LoRA policy's trainable parameters are its adapters only.
 */
class PolicyLoraTest {
  private static final Backend CPU = new CpuBackend();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static Path resources;
  private static JsonNode golden;

  @BeforeAll
  static void load() throws Exception {
    resources = Path.of(PolicyLoraTest.class.getResource("/peft_policy/golden.json").toURI()).getParent().getParent();
    golden = JSON.readTree(resources.resolve("peft_policy/golden.json").toFile());
  }

  @AfterAll
  static void close() { CPU.close(); }

  /** A copy of a golden adapter whose adapter_config.json names its base by its path here. */
  private static Path adapter(String name, Path tmp) throws Exception {
    return PeftRoundTripTest.copyAdapter(resources.resolve("peft_policy").resolve(name), tmp.resolve(name), base(name));
  }

  private static Path base(String name) { return resources.resolve(golden.get("cases").get(name).get("base").asText()); }

  private static List<int[][]> pairs(String name) {
    List<int[][]> out = new ArrayList<>();
    for (JsonNode p : golden.get("cases").get(name).get("pairs")) {
      int[][] t = new int[3][];
      for (int i = 0; i < 3; i++) t[i] = JSON.convertValue(p.get(i), int[].class);
      out.add(t);
    }
    return out;
  }

  /** Per pair, per side (chosen, rejected): the log-prob of each response token, from the policy's forward. */
  static double[][][] tokenLogps(PolicyModel m, List<int[][]> pairs) {
    PackedBatch b = PolicyBatches.pack(pairs, false);
    PolicyTargets t = PolicyTargets.of(b, PolicyBatches.promptLengths(pairs));
    double[] e = m.forward(b, t).entries();
    double[][][] out = new double[pairs.size()][2][];
    for (int k = 0; k < pairs.size(); k++) {
      for (int side = 0; side < 2; side++) {
        int s = side == 0 ? b.chosen()[k] : b.rejected()[k];
        List<Double> v = new ArrayList<>();
        for (int i = 0; i < t.numEntries(); i++) if (t.owner()[i] == s) v.add(e[i]);
        out[k][side] = v.stream().mapToDouble(Double::doubleValue).toArray();
      }
    }
    return out;
  }

  private static void assertLogps(JsonNode want, double[][][] got, double tol, String what) {
    assertEquals(want.size(), got.length, what);
    for (int k = 0; k < got.length; k++) {
      for (int side = 0; side < 2; side++) {
        JsonNode w = want.get(k).get(side);
        assertEquals(w.size(), got[k][side].length, what + " pair " + k + " side " + side + " tokens");
        for (int i = 0; i < w.size(); i++) {
          assertEquals(w.get(i).asDouble(), got[k][side][i], tol, what + " pair " + k + " side " + side + " token " + i);
        }
      }
    }
  }

  private static double maxDiff(double[][][] a, double[][][] b) {
    double d = 0;
    for (int k = 0; k < a.length; k++) for (int s = 0; s < 2; s++) for (int i = 0; i < a[k][s].length; i++) {
      d = Math.max(d, Math.abs(a[k][s][i] - b[k][s][i]));
    }
    return d;
  }

  @ParameterizedTest
  @ValueSource(strings = {"peft-untied", "rewardkit-tied"})
  void responseLogpsEqualPeftsUnmergedAndMerged(String name, @TempDir Path tmp) throws Exception {
    JsonNode want = golden.get("cases").get(name);
    List<int[][]> pairs = pairs(name);
    double[][][] baseOnly;
    try (PolicyModel b = PolicyModel.fromPretrained(base(name), CPU, DType.F32)) {
      assertEquals(want.get("tied").asBoolean(), b.tied());
      baseOnly = tokenLogps(b, pairs);
    }
    try (PolicyModel m = PolicyAdapter.open(adapter(name, tmp), CPU)) {
      double[][][] got = tokenLogps(m, pairs);
      assertLogps(want.get("logps"), got, 1e-5, name);
      // the adapter matters: what the base alone computes is far from it
      assertTrue(maxDiff(got, baseOnly) > 1e-3, name + ": adapter changes the log-probs by only " + maxDiff(got, baseOnly));
      m.mergeAdapters();
      assertNull(m.adapters());
      assertLogps(want.get("merged_logps"), tokenLogps(m, pairs), 1e-5, name + " merged");
    }
  }

  /** What RewardKit writes today is byte for byte the adapter PEFT was checked against. */
  @Test
  void rewardkitWritesTheAdapterPeftRead(@TempDir Path tmp) throws Exception {
    Path in = adapter("rewardkit-tied", tmp), out = tmp.resolve("rewritten");
    Files.createDirectories(out);
    try (PolicyModel m = PolicyAdapter.open(in, CPU)) {
      m.save(out);
    }
    assertArrayEquals(Files.readAllBytes(in.resolve(PeftAdapter.WEIGHTS)), Files.readAllBytes(out.resolve(PeftAdapter.WEIGHTS)));
    assertEquals(JSON.readTree(in.resolve(PeftAdapter.CONFIG).toFile()), JSON.readTree(out.resolve(PeftAdapter.CONFIG).toFile()));
  }

  /**
   * export --merge's writer: a full *ForCausalLM whose forward equals the adapted (unmerged) policy's within 1e-6,
   * with the base's tensor names (tied: no lm_head; untied: the base's lm_head, unchanged).
   */
  @ParameterizedTest
  @ValueSource(strings = {"peft-untied", "rewardkit-tied"})
  void exportedMergeEqualsTheAdaptedForward(String name, @TempDir Path tmp) throws Exception {
    Path in = adapter(name, tmp), out = tmp.resolve("merged");
    List<int[][]> pairs = pairs(name);
    double[][][] adapted;
    try (PolicyModel m = PolicyAdapter.open(in, CPU)) {
      adapted = tokenLogps(m, pairs);
    }
    String line = PolicyAdapter.export(in, out, "auto", CPU);
    assertTrue(line.contains("Qwen2ForCausalLM"), line);
    JsonNode cfg = JSON.readTree(out.resolve("config.json").toFile());
    assertEquals("Qwen2ForCausalLM", cfg.get("architectures").get(0).asText());
    assertEquals(golden.get("cases").get(name).get("tied").asBoolean(), cfg.get("tie_word_embeddings").asBoolean());
    try (SafetensorsCheckpoint merged = SafetensorsCheckpoint.open(out); SafetensorsCheckpoint b = SafetensorsCheckpoint.open(base(name))) {
      assertEquals(new TreeSet<>(b.names()), new TreeSet<>(merged.names()));
      if (merged.has("lm_head.weight")) {
        assertArrayEquals(b.file("lm_head.weight").readFloats("lm_head.weight"), merged.file("lm_head.weight").readFloats("lm_head.weight"));
      }
    }
    try (PolicyModel m = PolicyModel.fromPretrained(out, CPU, DType.F32)) {
      double[][][] got = tokenLogps(m, pairs);
      assertTrue(maxDiff(got, adapted) <= 1e-6, name + ": merged export differs from the adapted forward by " + maxDiff(got, adapted));
      assertLogps(golden.get("cases").get(name).get("merged_logps"), got, 1e-5, name + " exported");
    }
  }

  /**
   * A LoRA policy trains its adapters only (no base or LM-head gradient), saves PEFT's CAUSAL_LM keys for a
   * *ForCausalLM and nothing else, and starts equal to its base (lora_B = 0).
   */
  @Test
  void loraPolicySavesCausalLmAdapterKeysOnly(@TempDir Path tmp) throws Exception {
    Path base = resources.resolve("trl/policy");
    LoraConfig lc = new LoraConfig(2, 4, 0, EnumSet.of(LinearModule.Q_PROJ, LinearModule.DOWN_PROJ), false);
    List<int[][]> pairs = pairs("peft-untied");
    double[][][] before;
    try (PolicyModel b = PolicyModel.fromPretrained(base, CPU, DType.F32)) {
      before = tokenLogps(b, pairs);
    }
    Path out = tmp.resolve("ad");
    Files.createDirectories(out);
    try (PolicyModel m = PolicyModel.fromPretrained(base, CPU, DType.F32, false)) {
      LoraAdapters ad = new LoraAdapters(m.config(), lc, CPU, m.dtype());
      ad.initialize(3);
      ad.setBaseModel(base.toString(), null);
      m.attach(ad);
      assertNull(m.lmHeadGrad(), "the LM head is frozen");
      Set<String> names = new TreeSet<>();
      for (TrainableModel.Param p : m.params()) names.add(p.name());
      assertEquals(Set.of("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
          "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
          "base_model.model.model.layers.0.mlp.down_proj.lora_A.weight",
          "base_model.model.model.layers.0.mlp.down_proj.lora_B.weight",
          "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight",
          "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight",
          "base_model.model.model.layers.1.mlp.down_proj.lora_A.weight",
          "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"), names);
      assertEquals(0.0, maxDiff(tokenLogps(m, pairs), before), "fresh adapters (B = 0) leave the base's log-probs");
      m.save(out);
      assertThrows(IllegalStateException.class, () -> m.saveHf(tmp.resolve("full")), "unmerged adapters are not a full checkpoint");
    }
    try (SafetensorsFile f = SafetensorsFile.open(out.resolve(PeftAdapter.WEIGHTS))) {
      Set<String> keys = new TreeSet<>(f.entries().keySet());
      assertEquals(8, keys.size(), keys.toString());
      for (String k : keys) assertTrue(k.matches("base_model\\.model\\.model\\.layers\\.[01]\\.(self_attn\\.q_proj|mlp\\.down_proj)\\.lora_[AB]\\.weight"), k);
    }
    JsonNode cfg = JSON.readTree(out.resolve(PeftAdapter.CONFIG).toFile());
    assertEquals("CAUSAL_LM", cfg.get("task_type").asText());
    assertTrue(cfg.get("modules_to_save").isNull(), "nothing but the adapters is trained: " + cfg);
    assertEquals(base.toString(), cfg.get("base_model_name_or_path").asText());
    assertEquals(List.of("q_proj", "down_proj"), JSON.convertValue(cfg.get("target_modules"), List.class));
  }

  /**
   * The adapters' gradients of L = Σ g · response log-prob sums + Σ gp · prompt sums (float64, both layouts, tied and
   * untied heads) against central finite differences, with the base and the LM head frozen: no gradient buffers there.
   */
  @ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource({"true,false", "true,true", "false,false", "false,true"})
  void adapterGradientsMatchFiniteDifferencesWithBaseAndHeadFrozen(boolean tied, boolean shared, @TempDir Path tmp) throws Exception {
    String json = PolicyModelTest.TIED_CONFIG.replace("\"tie_word_embeddings\": true", "\"tie_word_embeddings\": " + tied);
    io.rewardkit.model.ModelConfig cfg = io.rewardkit.model.ModelConfig.parse(json, "test config");
    Path dir = tmp.resolve("base");
    try (PolicyModel m = PolicyModel.randomInit(cfg, CPU, DType.F64, 5)) {
      m.saveHf(dir);
    }
    try (PolicyModel m = PolicyModel.fromPretrained(dir, CPU, DType.F64, false)) {
      for (io.rewardkit.model.Parameter p : m.decoder().parameters()) {
        if (!p.hfName().equals("score.weight")) assertNull(p.grad(), p.hfName() + " is frozen");
      }
      assertNull(m.lmHeadGrad(), "the LM head is frozen");
      LoraAdapters ad = new LoraAdapters(m.config(), new LoraConfig(2, 3, 0, EnumSet.allOf(LinearModule.class), false), CPU, DType.F64);
      ad.initialize(3);
      java.util.SplittableRandom rng = new java.util.SplittableRandom(9);
      for (LoraAdapters.Pair pr : ad.pairs()) {  // B away from zero, so that A has a gradient too
        double[] v = new double[Math.toIntExact(pr.b.numel())];
        for (int i = 0; i < v.length; i++) v[i] = rng.nextGaussian() * 0.5;
        CPU.upload(pr.b.weight(), v);
      }
      m.attach(ad);
      PackedBatch b = PolicyBatches.pack(PolicyModelTest.PAIRS, shared);
      PolicyTargets t = PolicyTargets.of(b, PolicyBatches.promptLengths(PolicyModelTest.PAIRS));
      double[] g = new double[t.numResponses()], gp = new double[t.numResponses()];
      for (int i = 0; i < g.length; i++) { g[i] = rng.nextDouble() - 0.5; gp[i] = rng.nextDouble() - 0.5; }
      m.zeroGrad();
      m.forward(b, t);
      m.backward(g, gp);
      for (TrainableModel.Param p : m.params()) {
        io.rewardkit.kernels.GradCheck.check(p.name() + " tied=" + tied + " shared=" + shared, p.weight(), p.grad(), () -> {
          PolicyHead.Logps lp = m.forward(b, t);
          double sum = 0;
          for (int i = 0; i < g.length; i++) sum += g[i] * lp.response()[i] + gp[i] * lp.prompt()[i];
          return sum;
        }, 12, 7);
      }
    }
  }

  /** A policy's adapter is not a reward model's, nor the other way round; errors name the file and field. */
  @Test
  void adapterTaskIsChecked(@TempDir Path tmp) throws Exception {
    Path policy = adapter("peft-untied", tmp);
    assertEquals(PeftAdapter.Task.CAUSAL_LM, PeftAdapter.task(policy));
    RewardKitException e = assertThrows(RewardKitException.class, () -> PeftAdapter.read(policy));
    assertTrue(e.getMessage().contains("adapter_config.json: field 'task_type': must be SEQ_CLS")
        && e.getMessage().contains("export --merge"), e.getMessage());
    Path reward = resources.resolve("peft/rewardkit-all-linear");
    RewardKitException e2 = assertThrows(RewardKitException.class, () -> PolicyAdapter.open(reward, CPU));
    assertTrue(e2.getMessage().contains("field 'task_type': must be CAUSAL_LM"), e2.getMessage());
  }
}
