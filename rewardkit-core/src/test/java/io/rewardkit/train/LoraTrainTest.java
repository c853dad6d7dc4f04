package io.rewardkit.train;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.model.Parameter;
import io.rewardkit.model.RewardModel;
import io.rewardkit.model.lora.LoraAdapters;
import io.rewardkit.model.lora.PeftAdapter;
import io.rewardkit.model.safetensors.SafetensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA training of a real model (the tiny Qwen2 of the parity goldens, copied to peft/base) on the toy pairs: the base does not
 * move by one bit, only adapters and head get optimizer state, the saved adapter scores what the trained
 * model scores, and a resumed run ends bit-identical to an uninterrupted one.
 */
class LoraTrainTest {
  static final CpuBackend B = TrainerTest.B;
  @TempDir Path tmp;

  static Path base() throws Exception {
    return Path.of(LoraTrainTest.class.getResource("/peft/base/config.json").toURI()).getParent();
  }

  static TrainConfig config(String out) throws Exception {
    TrainConfig c = TrainerTest.config(out);
    c.modelNameOrPath = base().toString();
    c.usePeft = true;
    c.loraR = 4;
    c.loraAlpha = 8;
    c.loraTargetModules = "all-linear";
    c.learningRate = 0.02;
    c.maxSteps = 6;
    c.saveSteps = 2;
    c.evalSteps = 0;
    c.saveTotalLimit = 0;
    return c;
  }

  record Run(RewardModel model, LoraAdapters lora, Trainer trainer) {}

  static Run run(TrainConfig c) {
    RewardModel m = RunSetup.model(c, null, B);
    LoraAdapters ad = RunSetup.lora(c, m);
    Trainer t = new Trainer(c, new ModelAdapter(m, ad), new ToyPairs(240, 6, c.seed, 1), new ToyPairs(60, 16, c.seed + 1, 1),
        CheckpointContent.none(), new java.io.PrintStream(java.io.OutputStream.nullOutputStream())).terminal(false);
    return new Run(m, ad, t);
  }

  @Test
  void baseStaysBitIdenticalWhileAdaptersAndHeadTrain() throws Exception {
    TrainConfig c = config(tmp.resolve("a").toString());
    Run r = run(c);
    try (RewardModel m = r.model()) {
      List<float[]> before = new ArrayList<>();
      for (Parameter p : m.parameters()) before.add(p.weight().toFloatArray());
      r.trainer().train();
      int changed = 0;
      for (int i = 0; i < before.size(); i++) {
        Parameter p = m.parameters().get(i);
        if (p == m.scoreHead()) {
          assertFalse(java.util.Arrays.equals(before.get(i), p.weight().toFloatArray()), "the score head trains in full");
        } else {
          assertArrayEquals(before.get(i), p.weight().toFloatArray(), p.hfName() + " of the frozen base moved");
          assertNull(p.grad(), p.hfName() + " has a gradient buffer");
        }
      }
      for (LoraAdapters.Pair p : r.lora().pairs()) {
        for (float x : p.b.weight().toFloatArray()) if (x != 0) { changed++; break; }
      }
      assertEquals(r.lora().pairs().size(), changed, "every lora_B moved away from its zero init");

      // optimizer state: adapters and head only (master = weight, exp_avg, exp_avg_sq each)
      Path ck = tmp.resolve("a/checkpoint-6");
      try (SafetensorsFile opt = SafetensorsFile.open(ck.resolve(Checkpoints.OPTIMIZER))) {
        assertEquals(3 * (r.lora().parameters().size() + 1), opt.entries().size());
        for (String k : opt.entries().keySet()) {
          assertTrue(k.startsWith(LoraAdapters.PREFIX + "model.layers.") || k.startsWith("score.weight"), k);
        }
      }
      // final/ is a PEFT adapter directory that scores exactly what the trained model scores
      Path fin = tmp.resolve("a/final");
      assertTrue(Files.isRegularFile(fin.resolve(PeftAdapter.CONFIG)));
      assertFalse(Files.exists(fin.resolve("model.safetensors")), "a LoRA run does not copy the frozen base");
      var batch = new ToyPairs(20, 20, 3, 1).evalBatches().get(0);
      PeftAdapter.Info info = PeftAdapter.read(fin);
      assertEquals(base().toAbsolutePath().normalize().toString(), info.baseModel());
      try (RewardModel loaded = RunSetup.withAdapter(info, base(), B)) {
        assertArrayEquals(m.score(batch), loaded.score(batch));
      }
    }
  }

  @Test
  void resumeWithAdaptersIsBitExact() throws Exception {
    assertResumeIsBitExact(config(tmp.resolve("a").toString()), config(tmp.resolve("b").toString()), tmp);
  }

  /**
   * Run a to the end; run b crashes after step 3 and resumes from its latest checkpoint (step 2): b ends with a's
   * metrics, adapter files and optimizer state, byte for byte. Shared by the LoRA and QLoRA tests.
   */
  static void assertResumeIsBitExact(TrainConfig a, TrainConfig b, Path tmp) throws Exception {
    Run ra = run(a);
    try (RewardModel m = ra.model()) {
      ra.trainer().train();
    }
    Run rb = run(b);
    try (RewardModel m = rb.model()) {
      assertThrows(IllegalStateException.class, () -> rb.trainer().onStep((step, mm) -> {
        if (step == 3) throw new IllegalStateException("simulated crash");
      }).train());
    }
    assertEquals(2, Checkpoints.stepOf(Checkpoints.latest(tmp.resolve("b")).orElseThrow()));
    b.resume = "latest";
    b.seed = a.seed;
    Run rc = run(b);
    try (RewardModel m = rc.model()) {
      rc.trainer().train();
    }
    TrainerTest.assertSameRun(tmp.resolve("a"), tmp.resolve("b"));
    for (String f : List.of(PeftAdapter.WEIGHTS, PeftAdapter.CONFIG)) {
      assertArrayEquals(Files.readAllBytes(tmp.resolve("a/final").resolve(f)), Files.readAllBytes(tmp.resolve("b/final").resolve(f)), f);
    }
    assertArrayEquals(Files.readAllBytes(tmp.resolve("a/checkpoint-6").resolve(Checkpoints.OPTIMIZER)),
        Files.readAllBytes(tmp.resolve("b/checkpoint-6").resolve(Checkpoints.OPTIMIZER)));
  }
}
