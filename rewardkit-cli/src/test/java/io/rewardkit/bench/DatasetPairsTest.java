package io.rewardkit.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.rewardkit.RewardKitException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class DatasetPairsTest {

  private static Path shared() {
    String s = System.getProperty("rewardkit.shared");
    Path p = s == null ? null : Path.of(s);
    assumeTrue(p != null && Files.isDirectory(p.resolve("data")), "shared data folder absent: skipping");
    return p;
  }

  @Test
  void realPairsGoThroughTheDataPipeline() {
    Path shared = shared();
    Path data = shared.resolve("data/hh-rlhf-harmless/pairs-2000.jsonl");
    Path tok = shared.resolve("fixtures/tokenizers/qwen3");
    List<PairTokens> pairs = DatasetPairs.load(data, tok, 1024, 40, 151936);
    assertEquals(40, pairs.size());
    int readout = pairs.get(0).chosen()[pairs.get(0).chosen().length - 1];
    for (PairTokens p : pairs) {
      assertEquals(readout, p.chosen()[p.chosen().length - 1], "every response ends with the readout token");
      assertEquals(readout, p.rejected()[p.rejected().length - 1]);
      assertTrue(p.prompt().length > 5);
    }
    // A vocabulary smaller than the tokenizer's is a mismatch, reported as such.
    RewardKitException e = assertThrows(RewardKitException.class, () -> DatasetPairs.load(data, tok, 1024, 4, 1000));
    assertTrue(e.getMessage().contains("outside the model's vocabulary"), e.getMessage());
  }
}
