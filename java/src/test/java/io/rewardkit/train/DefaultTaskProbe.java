package io.rewardkit.train;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.CpuBackend;
import io.rewardkit.model.ModelConfig;
import io.rewardkit.model.RewardModel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Manual probe (not a test): trains the real model on the synthetic task with a throwaway byte packing. */
public final class DefaultTaskProbe {
  public static void main(String[] a) throws Exception {
    int hidden = Integer.parseInt(a[0]), layers = Integer.parseInt(a[1]), steps = Integer.parseInt(a[2]);
    double lr = Double.parseDouble(a[3]);
    int perBatch = Integer.parseInt(a[4]);
    String cfgJson = "{\"model_type\":\"llama\",\"hidden_size\":" + hidden + ",\"intermediate_size\":" + (hidden * 2)
        + ",\"num_hidden_layers\":" + layers + ",\"num_attention_heads\":4,\"num_key_value_heads\":4,\"vocab_size\":260,"
        + "\"max_position_embeddings\":64,\"rms_norm_eps\":1e-6,\"rope_theta\":10000}";
    RewardModel m = RewardModel.randomInit(ModelConfig.parse(cfgJson, "probe"), new CpuBackend(), 1);
    var train = source(SyntheticTask.generate(steps * perBatch, Integer.parseInt(a[5]), Integer.parseInt(a[6]), Integer.parseInt(a[7]), 1), perBatch);
    var eval = source(SyntheticTask.generate(400, Integer.parseInt(a[5]), Integer.parseInt(a[6]), Integer.parseInt(a[7]), 2), 100);
    TrainConfig c = new TrainConfig();
    c.outputDir = "/tmp/probe";
    c.modelNameOrPath = "x"; c.dataset = List.of("x");
    c.learningRate = lr; c.lrSchedulerType = "cosine"; c.warmupRatio = 0.05; c.maxLength = 64; c.maxTokensPerBatch = 4096;
    c.loggingSteps = 50; c.evalSteps = 100; c.saveSteps = 0; c.report = false; c.weightDecay = 0.0;
    long t0 = System.nanoTime();
    new Trainer(c, new ModelAdapter(m), train, eval, CheckpointContent.none(), System.out).terminal(false).train();
    System.out.println("seconds " + (System.nanoTime() - t0) / 1e9);
  }

  static PairSource source(List<SyntheticTask.Example> ex, int perBatch) {
    return new PairSource() {
      public List<String> datasetNames() { return List.of("synthetic"); }
      public int numPairs() { return ex.size(); }
      public List<PackedBatch> trainBatches(int epoch) { return evalBatches(); }
      public List<PackedBatch> evalBatches() {
        List<PackedBatch> out = new ArrayList<>();
        for (int s = 0; s < ex.size(); s += perBatch) out.add(batch(ex.subList(s, Math.min(ex.size(), s + perBatch)), s));
        return out;
      }
    };
  }

  static PackedBatch batch(List<SyntheticTask.Example> ex, int base) {
    List<int[]> seqs = new ArrayList<>();
    for (var e : ex) {
      seqs.add(bytes(e.prompt(), e.chosen()));
      seqs.add(bytes(e.prompt(), e.rejected()));
    }
    int t = 0;
    for (int[] s : seqs) t += s.length;
    int[] tokens = new int[t], pos = new int[t], cu = new int[seqs.size() + 1], readout = new int[seqs.size()];
    int o = 0, max = 0;
    for (int i = 0; i < seqs.size(); i++) {
      int[] s = seqs.get(i);
      for (int k = 0; k < s.length; k++) { tokens[o + k] = s[k]; pos[o + k] = k; }
      o += s.length; cu[i + 1] = o; readout[i] = o - 1; max = Math.max(max, s.length);
    }
    int p = ex.size();
    int[] c = new int[p], r = new int[p], ds = new int[p];
    long[] ids = new long[p];
    for (int i = 0; i < p; i++) { c[i] = 2 * i; r[i] = 2 * i + 1; ids[i] = base + i; }
    return new PackedBatch(tokens, pos, cu, null, max, readout, c, r, new float[p], ids, ds);
  }

  static int[] bytes(String prompt, String resp) {
    byte[] a = prompt.getBytes(StandardCharsets.UTF_8), b = resp.getBytes(StandardCharsets.UTF_8);
    int[] out = new int[a.length + b.length + 2];
    out[0] = 256;
    for (int i = 0; i < a.length; i++) out[1 + i] = a[i] & 0xff;
    for (int i = 0; i < b.length; i++) out[1 + a.length + i] = b[i] & 0xff;
    out[out.length - 1] = 257;
    return out;
  }
}
