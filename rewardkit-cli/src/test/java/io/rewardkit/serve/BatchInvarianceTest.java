package io.rewardkit.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.data.PackedBatch;
import io.rewardkit.data.Packer;
import io.rewardkit.data.ResponseEncoder;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backends;
import io.rewardkit.train.RunSetup;
import io.rewardkit.train.SyntheticTask;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A reward does not depend on the batch it was packed into: the same sequence scored alone and at
 * every position among 63 others of varied lengths (one varlen batch) gives the same reward. The
 * issue asks for 1e-6 on CPU; the CPU backend gives bit-identical rows (see
 * CpuBackend.rowInvariantRows), so the test asks for equality: a 1e-6 bound would not see the
 * last-bit differences of the small-matrix GEMM path on this test model's small rewards.
 */
class BatchInvarianceTest {
  @Test void rewardAloneEqualsRewardAmong63Others() throws Exception {
    try (Backend be = Backends.select("cpu")) {
      RunSetup.Loaded m = RunSetup.open(ServeTestSupport.model(), be);
      try (var model = m.model(); var tok = m.tokenizer()) {
        ResponseEncoder enc = new ResponseEncoder(m.options(), tok);
        List<ResponseEncoder.Input> in = new ArrayList<>();
        for (SyntheticTask.Example e : SyntheticTask.generate(64, 2, 9, 8, 5)) in.add(ResponseEncoder.Input.text(e.prompt(), e.chosen()));
        List<int[]> seqs = new ArrayList<>();
        for (ResponseEncoder.Encoded e : enc.encode(in)) seqs.add(e.tokens());
        int rt = enc.readoutToken();
        float[] all = model.score(Packer.sequences(seqs, rt));
        double worst = 0;
        for (int i = 0; i < seqs.size(); i++) {
          float alone = model.score(Packer.sequences(List.of(seqs.get(i)), rt))[0];
          worst = Math.max(worst, Math.abs(alone - all[i]));
          assertEquals(alone, all[i], 0.0, "sequence " + i + " (" + seqs.get(i).length + " tokens)");
        }
        // a reversed order gives each sequence other neighbours and offsets
        List<int[]> rev = new ArrayList<>(seqs);
        java.util.Collections.reverse(rev);
        float[] back = model.score(Packer.sequences(rev, rt));
        for (int i = 0; i < seqs.size(); i++) assertEquals(all[i], back[seqs.size() - 1 - i], 0.0);
        PackedBatch b = Packer.sequences(seqs, rt);
        assertEquals(64, b.numSequences());
        assertTrue(worst == 0);
      }
    }
  }
}
