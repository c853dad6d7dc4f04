package io.rewardkit.model.lora;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.model.LinearModule;
import io.rewardkit.model.Parameter;
import io.rewardkit.model.RewardModel;
import io.rewardkit.model.TestBatches;
import io.rewardkit.model.safetensors.SafetensorsFile;
import io.rewardkit.model.safetensors.SafetensorsWriter;
import io.rewardkit.model.safetensors.StDType;
import io.rewardkit.train.RunSetup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * LoRA adapters against PEFT (goldens from tools/peft_roundtrip.py, java/src/test/resources/peft):
 * adapters RewardKit wrote, read by PEFT, and adapters PEFT wrote, read by RewardKit, give PEFT's rewards;
 * merged into the base they give PEFT's merge_and_unload() rewards; an adapter without its head is refused.
 */
public class PeftRoundTripTest {
  private static final Backend CPU = new CpuBackend();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static Path resources;
  private static JsonNode golden;

  @BeforeAll
  static void load() throws Exception {
    resources = Path.of(PeftRoundTripTest.class.getResource("/peft/golden.json").toURI()).getParent().getParent();
    golden = JSON.readTree(resources.resolve("peft/golden.json").toFile());
  }

  @AfterAll
  static void close() { CPU.close(); }

  /** A copy of a golden adapter whose adapter_config.json names the base by its path here (the goldens say "peft/base"). */
  static Path adapter(String name, Path tmp) throws Exception {
    return copyAdapter(resources.resolve("peft").resolve(name), tmp.resolve(name), resources.resolve(golden.get("base").asText()));
  }

  /** Copies the adapter directory src to dst with base_model_name_or_path set to base (goldens name bases relatively). */
  public static Path copyAdapter(Path src, Path dst, Path base) throws Exception {
    Files.createDirectories(dst);
    Files.copy(src.resolve(PeftAdapter.WEIGHTS), dst.resolve(PeftAdapter.WEIGHTS));
    ObjectNode cfg = (ObjectNode) JSON.readTree(src.resolve(PeftAdapter.CONFIG).toFile());
    cfg.put("base_model_name_or_path", base.toString());
    JSON.writeValue(dst.resolve(PeftAdapter.CONFIG).toFile(), cfg);
    return dst;
  }

  /** golden.json's sequences packed one after another, each read at its last token (no padding anywhere). */
  static PackedBatch sequences() {
    return TestBatches.sequences(golden.get("seqs"));
  }

  static void assertRewards(JsonNode want, float[] got, String what) {
    assertEquals(want.size(), got.length);
    for (int i = 0; i < got.length; i++) assertEquals(want.get(i).asDouble(), got[i], 1e-5, what + " sequence " + i);
  }

  static RewardModel open(Path dir) {
    PeftAdapter.Info info = PeftAdapter.read(dir);
    return RunSetup.withAdapter(info, Path.of(info.baseModel()), CPU);
  }

  @ParameterizedTest
  @ValueSource(strings = {"rewardkit-all-linear", "rewardkit-rslora-qvd", "peft-all-linear", "peft-rslora-qv"})
  void rewardsEqualPeftsUnmergedAndMerged(String name, @TempDir Path tmp) throws Exception {
    JsonNode want = golden.get("cases").get(name);
    try (RewardModel m = open(adapter(name, tmp))) {
      assertRewards(want.get("rewards"), m.score(sequences()), name);
      LoraMerge.merge(m, (LoraAdapters) m.linearHook());
      assertNull(m.linearHook());
      assertRewards(want.get("merged_rewards"), m.score(sequences()), name + " merged");
    }
  }

  /** What RewardKit writes today is byte for byte the adapter PEFT was checked against. */
  @ParameterizedTest
  @ValueSource(strings = {"rewardkit-all-linear", "rewardkit-rslora-qvd"})
  void rewardkitWritesTheAdapterPeftRead(String name, @TempDir Path tmp) throws Exception {
    Path in = adapter(name, tmp);
    Path out = tmp.resolve("rewritten");
    Files.createDirectories(out);
    try (RewardModel m = open(in)) {
      PeftAdapter.write(out, (LoraAdapters) m.linearHook(), m.scoreHead(), CPU, StDType.F32);
    }
    assertArrayEquals(Files.readAllBytes(in.resolve(PeftAdapter.WEIGHTS)), Files.readAllBytes(out.resolve(PeftAdapter.WEIGHTS)));
    JsonNode a = JSON.readTree(in.resolve(PeftAdapter.CONFIG).toFile()), b = JSON.readTree(out.resolve(PeftAdapter.CONFIG).toFile());
    assertEquals(a, b);
    assertEquals("SEQ_CLS", b.get("task_type").asText());
    assertEquals(List.of("score"), JSON.convertValue(b.get("modules_to_save"), List.class));
  }

  @Test
  void mergedWeightsAreBasePlusScaledBA(@TempDir Path tmp) throws Exception {
    Path dir = adapter("peft-rslora-qv", tmp);
    try (RewardModel m = open(dir); SafetensorsFile ad = SafetensorsFile.open(dir.resolve(PeftAdapter.WEIGHTS));
         SafetensorsFile base = SafetensorsFile.open(resources.resolve("peft/base/model.safetensors"))) {
      LoraAdapters lora = (LoraAdapters) m.linearHook();
      assertEquals(4 / Math.sqrt(2), lora.scale(), 1e-15);  // rsLoRA: alpha / sqrt(r)
      LoraMerge.merge(m, lora);
      for (Parameter p : m.parameters()) {
        float[] got = p.weight().toFloatArray(), w = base.readFloats(p.hfName());
        String mod = p.hfName().replace(".weight", "");
        if (p.hfName().equals("score.weight")) {
          assertArrayEquals(ad.readFloats(PeftAdapter.HEAD_KEY), got, "the adapter's head replaces the base's");
          continue;
        }
        if (!mod.endsWith("q_proj") && !mod.endsWith("v_proj")) {
          assertArrayEquals(w, got, p.hfName() + " is not adapted and must not change");
          continue;
        }
        float[] a = ad.readFloats(LoraAdapters.PREFIX + mod + ".lora_A.weight"), b = ad.readFloats(LoraAdapters.PREFIX + mod + ".lora_B.weight");
        int out = (int) p.weight().dim(0), in = (int) p.weight().dim(1), r = 2;
        for (int o = 0; o < out; o++) {
          for (int i = 0; i < in; i++) {
            double s = 0;
            for (int j = 0; j < r; j++) s += (double) b[o * r + j] * a[j * in + i];
            assertEquals(w[o * in + i] + lora.scale() * s, got[o * in + i], 1e-6, p.hfName() + " [" + o + ", " + i + "]");
          }
        }
      }
    }
  }

  /** An adapter saved without modules_to_save=["score"] has no head: refused naming the file, never a random head. */
  @Test
  void adapterWithoutHeadIsRefused(@TempDir Path tmp) throws Exception {
    Path dir = adapter("peft-all-linear", tmp);
    Path wf = dir.resolve(PeftAdapter.WEIGHTS);
    List<SafetensorsWriter.TensorSpec> kept = new ArrayList<>();
    Map<String, float[]> values = new java.util.HashMap<>();
    try (SafetensorsFile f = SafetensorsFile.open(wf)) {
      for (SafetensorsFile.Entry e : f.entries().values()) {
        if (e.name().equals(PeftAdapter.HEAD_KEY)) continue;
        values.put(e.name(), f.readFloats(e.name()));
        kept.add(new SafetensorsWriter.TensorSpec(e.name(), StDType.F32, e.shape(),
            (off, dst, n) -> System.arraycopy(values.get(e.name()), (int) off, dst, 0, n)));
      }
    }
    SafetensorsWriter.write(wf, kept, Map.of("format", "pt"));
    RewardKitException e = assertThrows(RewardKitException.class, () -> RunSetup.open(dir, CPU));
    assertTrue(e.getMessage().startsWith(wf.toString() + ": no score head"), e.getMessage());
    assertTrue(e.getMessage().contains("modules_to_save"), e.getMessage());
  }

  @Test
  void otherTasksAndMissingBasesAreRefusedNamingTheField(@TempDir Path tmp) throws Exception {
    Path dir = adapter("peft-rslora-qv", tmp);
    Path cf = dir.resolve(PeftAdapter.CONFIG);
    ObjectNode cfg = (ObjectNode) JSON.readTree(cf.toFile());
    cfg.put("base_model_name_or_path", tmp.resolve("nowhere").toString());
    JSON.writeValue(cf.toFile(), cfg);
    RewardKitException e = assertThrows(RewardKitException.class, () -> RunSetup.open(dir, CPU));
    assertTrue(e.getMessage().startsWith(cf + ": field 'base_model_name_or_path'"), e.getMessage());
    cfg.put("task_type", "CAUSAL_LM");
    JSON.writeValue(cf.toFile(), cfg);
    e = assertThrows(RewardKitException.class, () -> PeftAdapter.read(dir));
    assertTrue(e.getMessage().startsWith(cf + ": field 'task_type'"), e.getMessage());
  }

  @Test
  void keysAreThoseOfPeft() {
    assertEquals("base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight", LoraAdapters.keyA(3, LinearModule.Q_PROJ));
    assertEquals("base_model.model.model.layers.0.mlp.down_proj.lora_B.weight", LoraAdapters.keyB(0, LinearModule.DOWN_PROJ));
    assertEquals("base_model.model.score.weight", PeftAdapter.HEAD_KEY);
  }
}
