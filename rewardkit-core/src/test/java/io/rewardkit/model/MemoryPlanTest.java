package io.rewardkit.model;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.Device;
import io.rewardkit.kernels.Nf4Weight;
import io.rewardkit.model.MemoryPlan.Estimate;
import io.rewardkit.model.MemoryPlan.Lora;
import io.rewardkit.model.MemoryPlan.Mode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class MemoryPlanTest {
  private static final Path ROOT = Path.of(System.getProperty("user.dir"));

  private static ModelConfig config(String path) { return ModelConfig.load(ROOT.resolve(path)); }

  /** LoRA's trainable parameters as PEFT counts them (get_peft_model on the same configs; tools/peft_lora_counts.py). */
  @Test
  void loraParameterCountsMatchPeft() throws Exception {
    JsonNode golden = new ObjectMapper().readTree(getClass().getResourceAsStream("/memoryplan/peft_counts.json"));
    int checked = 0;
    for (JsonNode c : golden.get("cases")) {
      ModelConfig mc = config(c.get("config").asText());
      Set<String> targets = new HashSet<>();
      if (c.get("target_modules").isTextual()) targets.addAll(MemoryPlan.LINEAR_MODULES);  // all-linear
      else c.get("target_modules").forEach(t -> targets.add(t.asText()));
      Lora lora = new Lora(c.get("r").asInt(), targets);
      String what = c.get("name").asText() + " r" + lora.r() + " " + c.get("target_modules");
      assertEquals(c.get("base_parameters").asLong(), mc.numParameters(), what + ": base parameters");
      for (Mode m : new Mode[] {Mode.LORA, Mode.QLORA}) {
        Estimate e = MemoryPlan.estimate(mc, Device.CPU, m, lora, false, 64);
        assertEquals(c.get("trainable_parameters").asLong(), e.trainableParams(), what + " " + m);
      }
      checked++;
    }
    assertEquals(18, checked);
  }

  /** The activation figure is what the model allocates, for every mode of Activations. */
  @Test
  void plannedActivationsAreWhatActivationsAllocates() {
    CpuBackend cpu = new CpuBackend();
    for (String p : new String[] {"rewardkit-core/src/test/resources/fidelity/qwen3/model/config.json",
        "rewardkit-core/src/test/resources/fidelity/qwen2/model/config.json", "rewardkit-core/src/test/resources/fidelity/llama/model/config.json"}) {
      ModelConfig mc = config(p);
      for (DType dt : new DType[] {DType.F32, DType.F64}) {
        for (boolean training : new boolean[] {true, false}) {
          for (boolean ckpt : new boolean[] {false, true}) {
            try (Activations a = new Activations(mc, cpu, dt, 37, training, ckpt)) {
              assertEquals(a.bytes(), Activations.plannedBytes(mc, dt, 37, training, ckpt), p + " " + dt + " training " + training + " ckpt " + ckpt);
            }
          }
        }
      }
    }
  }

  @Test
  void fullFineTuningFollowsTheDtypeRules() {
    ModelConfig mc = config("examples/shapes/qwen3-8b-config.json");
    long n = mc.numParameters();
    Estimate cuda = MemoryPlan.estimate(mc, Device.CUDA, Mode.FULL, null, false, 8192);
    assertEquals(2 * n, cuda.weights());        // bf16 working weights
    assertEquals(4 * n, cuda.gradients());      // fp32 grads
    assertEquals(8 * n, cuda.optimizerState()); // AdamW m, v in fp32
    assertEquals(4 * n, cuda.masterWeights());  // fp32 masters
    assertEquals(Activations.plannedBytes(mc, DType.BF16, 8192, true, false), cuda.activations());
    Estimate cpu = MemoryPlan.estimate(mc, Device.CPU, Mode.FULL, null, false, 8192);
    assertEquals(4 * n, cpu.weights());
    assertEquals(0, cpu.masterWeights());       // fp32 weights are their own masters
    // checkpointing keeps one layer's internals instead of all: activations shrink, nothing else changes
    Estimate ck = MemoryPlan.estimate(mc, Device.CUDA, Mode.FULL, null, true, 8192);
    assertTrue(ck.activations() < cuda.activations() / 4, ck.activations() + " vs " + cuda.activations());
    assertEquals(cuda.total() - cuda.activations(), ck.total() - ck.activations());
  }

  @Test
  void bf16PackingBuffersAreTheLargestLinearGemmsOperandsInBf16() {
    ModelConfig mc = config("examples/shapes/qwen2.5-0.5b-config.json");
    // the MLP: down's forward (K 4864, M 2048 tokens, N 896) and gate/up's dX (K 4864, M 2048, N 896) tie
    assertEquals(2L * 4864 * (2048 + 896), MemoryPlan.bf16PackingBytes(mc, 2048));
    Estimate e = MemoryPlan.estimate(mc, Device.CPU, Mode.FULL, null, false, 2048);
    assertEquals(e.workspace() + 1000, e.plusWorkspace(1000).workspace());
    assertEquals(e.total() + 1000, e.plusWorkspace(1000).total());
  }

  @Test
  void qloraStoresTheTargetLinearsInNf4() {
    ModelConfig mc = config("examples/shapes/llama-3.1-8b-config.json");
    Lora lora = Lora.allLinear(16);
    Estimate lo = MemoryPlan.estimate(mc, Device.CUDA, Mode.LORA, lora, false, 4096);
    Estimate q = MemoryPlan.estimate(mc, Device.CUDA, Mode.QLORA, lora, false, 4096);
    long d = mc.hiddenSize(), f = mc.intermediateSize(), qd = mc.qDim(), kvd = mc.kvDim();
    long perLayerNf4 = Nf4Weight.storageBytes(qd * d) + 2 * Nf4Weight.storageBytes(kvd * d) + Nf4Weight.storageBytes(d * qd)
        + 3 * Nf4Weight.storageBytes(f * d);
    long linear = (qd * d + 2 * kvd * d + d * qd + 3 * f * d) * mc.numHiddenLayers();
    assertEquals(lo.weights() - 2 * linear + perLayerNf4 * mc.numHiddenLayers(), q.weights());
    assertEquals(lo.gradients(), q.gradients());
    assertEquals(lo.workspace() + 2 * f * d, q.workspace());  // one dequantised MLP weight, bf16
    // the frozen base has no gradient or optimizer state: only LoRA and the score head do
    assertEquals(4 * lo.trainableParams(), lo.gradients());
  }

  /** QLoRA stores every decoder linear NF4, also those without an adapter (bitsandbytes' load_in_4bit; what the model loads). */
  @Test
  void qloraQuantisesEveryDecoderLinearWhateverTheTargets() {
    ModelConfig mc = config("examples/shapes/llama-3.1-8b-config.json");
    Estimate all = MemoryPlan.estimate(mc, Device.CUDA, Mode.QLORA, Lora.allLinear(16), false, 4096);
    Estimate qv = MemoryPlan.estimate(mc, Device.CUDA, Mode.QLORA, new Lora(16, java.util.Set.of("q_proj", "v_proj")), false, 4096);
    long fewerAdapters = all.trainableParams() - qv.trainableParams();
    assertTrue(fewerAdapters > 0);
    assertEquals(all.weights() - 2 * fewerAdapters, qv.weights(), "only the adapters differ (bf16)");
    assertEquals(all.workspace(), qv.workspace(), "the scratch is the largest linear either way");
  }
}
