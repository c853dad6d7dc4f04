package io.rewardkit.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.data.DataOptions;
import io.rewardkit.data.EncodedDataset;
import io.rewardkit.data.EncodedPair;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.report.MetricsRecords;
import io.rewardkit.train.CheckpointContent;
import io.rewardkit.train.ModelAdapter;
import io.rewardkit.train.RunSetup;
import io.rewardkit.train.TrainConfig;
import io.rewardkit.train.Trainer;
import io.rewardkit.train.TrainingStep;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rewardkit bench} times what {@code train} runs: the same pairs, packed by the bench, are the batches the
 * trainer packs, and the bench's steps over them (its model, its step, its learning rate, from the same training
 * options) give bit-identical losses and weights to {@link Trainer}'s. Options away from the defaults (weight decay,
 * clipping, gradient accumulation, a margin-free loss with a centering term) so a bench that built its own step
 * from other settings, or packed differently, shows.
 */
class BenchMatchesTrainTest {
  @TempDir Path tmp;

  @Test
  void benchStepsAreTrainSteps() throws Exception {
    ModelShape shape = BenchEngineTest.TINY;
    List<PairTokens> pairs = SyntheticPairs.generate(LengthProfile.HH_RLHF, 24, shape.vocabSize(), 256, 7);
    DataOptions options = DataOptions.defaults().withLayout(DataOptions.Layout.SHARED_PREFIX).withMaxTokensPerBatch(1024)
        .withSeed(5);

    TrainConfig c = RunSetup.embeddedDefaults();
    c.outputDir = tmp.resolve("run").toString();
    c.maxSteps = 3;
    c.gradientAccumulationSteps = 2;
    c.learningRate = 3e-3;
    c.lrSchedulerType = "constant";
    c.warmupSteps = 0;
    c.warmupRatio = 0;
    c.weightDecay = 0.1;
    c.maxGradNorm = 0.5;
    c.centerRewardsCoefficient = 0.01;
    c.loggingSteps = 1;
    c.evalSteps = 0;
    c.saveSteps = 0;
    c.report = false;

    // train: the pairs as a training set, packed by the trainer's source
    List<EncodedPair> encoded = new ArrayList<>();
    for (int i = 0; i < pairs.size(); i++) encoded.add(pairs.get(i).toEncoded(i));
    EncodedDataset ds = EncodedDataset.of(encoded, options);
    float[] trained;
    try (CpuBackend be = new CpuBackend()) {
      ModelAdapter m = BenchModels.full(shape, be, 3);
      new Trainer(c, m, RunSetup.source(ds, List.of("synthetic")), null, CheckpointContent.none(),
          new PrintStream(OutputStream.nullOutputStream())).terminal(false).train();
      trained = m.weightArena().toFloatArray();
      m.model().close();
    }
    List<Double> trainLosses = new ArrayList<>();
    ObjectMapper json = new ObjectMapper();
    for (String line : Files.readAllLines(tmp.resolve("run/metrics.jsonl"))) {
      JsonNode n = json.readTree(line);
      if (n.path(MetricsRecords.KIND).asText().equals(MetricsRecords.TRAIN)) trainLosses.add(n.get("loss").asDouble());
    }
    assertEquals(3, trainLosses.size());

    // bench: the same pairs packed by the bench, stepped by the bench's engine with the same options
    List<PackedBatch> batches = BenchEngine.pack(pairs, options, 0);
    List<PackedBatch> trainBatches = ds.batches(0);
    assertEquals(trainBatches.size(), batches.size());
    assertTrue(batches.size() >= 6, batches.size() + " micro-batches");
    for (int i = 0; i < batches.size(); i++) {
      assertArrayEquals(trainBatches.get(i).tokens(), batches.get(i).tokens(), "micro-batch " + i);
      assertArrayEquals(trainBatches.get(i).readout(), batches.get(i).readout(), "micro-batch " + i);
    }
    BenchEngine engine = new BenchEngine(BenchModels::full, c);
    float[] benched, init;
    List<Double> benchLosses = new ArrayList<>();
    try (CpuBackend be = new CpuBackend()) {
      ModelAdapter m = BenchModels.full(shape, be, 3);
      init = m.weightArena().toFloatArray();
      TrainingStep step = engine.trainingStep(m);
      for (int s = 0; s < 3; s++) benchLosses.add(engine.step(step, batches.subList(2 * s, 2 * s + 2), s));
      benched = m.weightArena().toFloatArray();
      m.model().close();
    }
    assertEquals(trainLosses, benchLosses, "per-step losses");
    assertArrayEquals(trained, benched, "weights after 3 steps");
    int moved = 0;
    for (int i = 0; i < init.length; i++) if (init[i] != benched[i]) moved++;
    assertTrue(moved > init.length / 2, "the steps moved " + moved + " of " + init.length + " weights");
  }
}
