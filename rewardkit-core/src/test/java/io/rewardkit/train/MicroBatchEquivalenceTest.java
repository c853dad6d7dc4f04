package io.rewardkit.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.data.Tokenizer;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.model.RewardModel;
import io.rewardkit.model.TrainableModel;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Gradient accumulation is exact: one optimizer step over the same 10 pairs, once as one micro-batch
 * and once as 3 micro-batches of 1, 3 and 6 pairs (uneven, so weighting each micro-batch by 1/k instead
 * of by its share of the step's pairs shows), on the real model (the embedded default's tiny Llama),
 * gives the same loss, the same gradients and the same weights after the step.
 *
 * <p>Tolerances: both runs compute in F32 and differ only in how sums are grouped (per micro-batch
 * then weighted, vs all at once; BLAS blocking over different row counts), a relative rounding of a
 * few hundred times 2^-24 ≈ 6e-8 at most, so 1e-5 of the largest gradient and 1e-6 of the loss. The
 * weights: AdamW's first step moves each weight by lr·g/(|g|+ε), whose slope in g is at most lr/ε, so
 * with ε = 1e-3 the weight tolerance is lr/ε times the gradient tolerance (plus F32 rounding of the
 * weight). A wrong weighting changes gradients by tens of percent.
 */
class MicroBatchEquivalenceTest {
  @TempDir Path tmp;

  /** The step's batches, as given (no shuffling): one step = the whole epoch. */
  private record FixedBatches(List<PackedBatch> batches, int pairs) implements PairSource {
    @Override public List<String> datasetNames() { return List.of("toy0"); }
    @Override public int numPairs() { return pairs; }
    @Override public List<PackedBatch> trainBatches(int epoch) { return batches; }
    @Override public List<PackedBatch> evalBatches() { return List.of(); }
  }

  private record StepResult(Map<String, Object> metrics, List<float[]> grads, List<float[]> weights) {}

  private StepResult oneStep(String name, List<List<Integer>> split) throws Exception {
    ToyPairs toy = new ToyPairs(10, 10, 5, 1);
    List<PackedBatch> batches = new ArrayList<>();
    for (List<Integer> ids : split) batches.add(toy.batch(ids));
    TrainConfig c = RunSetup.embeddedDefaults();
    c.outputDir = tmp.resolve(name).toString();
    c.maxSteps = 1;
    c.gradientAccumulationSteps = split.size();
    c.learningRate = 1e-2;
    c.adamEpsilon = 1e-3;
    c.lrSchedulerType = "constant";
    c.warmupSteps = 0;
    c.warmupRatio = 0;
    c.maxGradNorm = 0;  // no clipping: the weights see the raw gradient
    c.evalSteps = 0;
    c.saveSteps = 0;
    c.report = false;
    CpuBackend be = new CpuBackend();
    Tokenizer tok = RunSetup.tokenizer(c);
    List<float[]> grads = new ArrayList<>(), weights = new ArrayList<>();
    try (RewardModel m = RunSetup.model(c, tok, be)) {
      Trainer.Result r = new Trainer(c, new ModelAdapter(m), new FixedBatches(batches, 10), null, CheckpointContent.none(),
          new PrintStream(OutputStream.nullOutputStream())).terminal(false)
          .onStep((step, model) -> {
            for (TrainableModel.Param p : model.params()) {
              grads.add(p.grad().toFloatArray());
              weights.add(p.weight().toFloatArray());
            }
          }).train();
      assertEquals(1, r.globalStep());
      return new StepResult(r.lastTrainMetrics(), grads, weights);
    }
  }

  @Test
  void threeUnevenMicroBatchesEqualOneBatchOfTheSamePairs() throws Exception {
    List<Integer> all = List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    StepResult one = oneStep("one", List.of(all));
    StepResult three = oneStep("three", List.of(all.subList(0, 1), all.subList(1, 4), all.subList(4, 10)));

    double loss = ((Number) one.metrics().get("loss")).doubleValue();
    assertEquals(loss, ((Number) three.metrics().get("loss")).doubleValue(), 1e-6 * Math.abs(loss), "loss");
    double norm = ((Number) one.metrics().get("grad_norm")).doubleValue();
    assertTrue(norm > 0, "the step has a gradient");
    assertEquals(norm, ((Number) three.metrics().get("grad_norm")).doubleValue(), 1e-5 * norm, "grad_norm");

    assertEquals(one.grads().size(), three.grads().size());
    double maxGrad = 0;
    for (float[] g : one.grads()) for (float x : g) maxGrad = Math.max(maxGrad, Math.abs(x));
    double gradTol = 1e-5 * maxGrad, weightTol = 1e-2 / 1e-3 * gradTol + 1e-6;
    for (int i = 0; i < one.grads().size(); i++) {
      assertClose("gradient of parameter " + i, one.grads().get(i), three.grads().get(i), gradTol);
      assertClose("weight after the step, parameter " + i, one.weights().get(i), three.weights().get(i), weightTol);
    }
  }

  private static void assertClose(String what, float[] a, float[] b, double tol) {
    assertEquals(a.length, b.length, what);
    for (int k = 0; k < a.length; k++) {
      if (!(Math.abs(a[k] - b[k]) <= tol)) {
        throw new AssertionError(what + ", element " + k + ": one batch " + a[k] + ", three micro-batches " + b[k]
            + " (tolerance " + tol + ")");
      }
    }
  }
}
