package io.rewardkit.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.rewardkit.data.ByteTokenizer;
import io.rewardkit.data.DataOptions;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Tensor;
import io.rewardkit.model.TrainableModel;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Rewards go back to the right (item, response) even when a response before them is dropped as too long. */
class ScorerTest {
  /** reward = position of the readout token = prompt + response length in tokens. */
  static final class LengthModel implements TrainableModel {
    @Override public Backend backend() { return null; }
    @Override public Tensor forward(PackedBatch b) { throw new UnsupportedOperationException(); }
    @Override public float[] score(PackedBatch b) {
      float[] r = new float[b.numReadouts()];
      for (int i = 0; i < r.length; i++) r[i] = b.positions()[b.readout()[i]];
      return r;
    }
    @Override public void backward(Tensor d) { throw new UnsupportedOperationException(); }
    @Override public void zeroGrad() { }
    @Override public List<Param> params() { return List.of(); }
    @Override public Tensor weightArena() { throw new UnsupportedOperationException(); }
    @Override public Tensor gradArena() { throw new UnsupportedOperationException(); }
    @Override public void saveHf(Path dir) { throw new UnsupportedOperationException(); }
  }

  @Test
  void droppedResponseDoesNotShiftLaterRewards() {
    JsonNodeFactory f = JsonNodeFactory.instance;
    List<Scorer.Item> items = List.of(
        new Scorer.Item(f.textNode("p"), List.of(f.textNode("aa"), f.textNode("aaaa"))),
        new Scorer.Item(f.textNode("p"), List.of(f.textNode("x".repeat(50)))), // longer than max_length 16: dropped
        new Scorer.Item(f.textNode("p"), List.of(f.textNode("bbb"))));
    DataOptions o = DataOptions.defaults().withMaxLength(16).withMaxTokensPerBatch(64).withChatTemplate("none");
    float[][] r = Scorer.score(new LengthModel(), new ByteTokenizer(), o, items);
    assertEquals(3f, r[0][0]); // "p" + "aa": readout at position 3
    assertEquals(5f, r[0][1]);
    assertTrue(Float.isNaN(r[1][0]), "the dropped response has no reward");
    assertEquals(4f, r[2][0]);
  }

  /** A whitespace-only response is empty_response, as train drops such a pair; its neighbours keep their rewards. */
  @Test
  void whitespaceResponseIsEmptyResponseAsInTraining() {
    JsonNodeFactory f = JsonNodeFactory.instance;
    List<Scorer.Item> items = List.of(new Scorer.Item(f.textNode("p"), List.of(f.textNode("aa"), f.textNode(" \n\t "), f.textNode("bbb"))));
    DataOptions o = DataOptions.defaults().withMaxLength(16).withMaxTokensPerBatch(64).withChatTemplate("none");
    Scorer.Result r = Scorer.scoreAll(new LengthModel(), new ByteTokenizer(), o, items);
    assertEquals(3f, r.scored().get(0).get(0).reward());
    assertEquals(null, r.scored().get(0).get(1).reward());
    assertEquals("empty_response", r.scored().get(0).get(1).reason());
    assertTrue(r.scored().get(0).get(1).message().contains("whitespace"), r.scored().get(0).get(1).message());
    assertEquals(4f, r.scored().get(0).get(2).reward());
    assertEquals(java.util.Map.of("empty_response", 1L), r.dropped());
  }
}
