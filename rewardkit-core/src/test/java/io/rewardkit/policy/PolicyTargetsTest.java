package io.rewardkit.policy;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.data.PackedBatch;
import java.util.List;
import org.junit.jupiter.api.Test;

class PolicyTargetsTest {
  // prompt [10 11 12], chosen [20 21 E], rejected [30 E]; a one-token prompt with EOS-only responses.
  static final int E = 99;
  static final List<int[][]> PAIRS = List.of(
      new int[][] {{10, 11, 12}, {20, 21, E}, {30, E}},
      new int[][] {{40}, {E}, {E}});

  @Test
  void separateLayoutPredictsEachTokenFromTheOneBefore() {
    PackedBatch b = PolicyBatches.pack(PAIRS, false);
    // sequences: [10 11 12 20 21 E] [10 11 12 30 E] [40 E] [40 E]
    PolicyTargets t = PolicyTargets.of(b, PolicyBatches.promptLengths(PAIRS));
    assertArrayEquals(new int[] {3, 2, 1, 1}, t.lengths());
    assertArrayEquals(new int[] {2, 0, 0, 0}, t.promptLengths());
    // response 0: prompt entries 11 (row 0), 12 (row 1); then 20 (row 2), 21 (row 3), E (row 4)
    assertArrayEquals(new int[] {0, 1, 2, 3, 4, 8, 9, 11, 13}, t.rows());
    assertArrayEquals(new int[] {11, 12, 20, 21, E, 30, E, E, E}, t.targets());
    assertArrayEquals(new int[] {-1, -1, 0, 0, 0, 1, 1, 2, 3}, t.owner());
  }

  @Test
  void sharedPrefixPredictsTheFirstRejectedTokenFromTheLastPromptToken() {
    PackedBatch b = PolicyBatches.pack(PAIRS, true);
    // sequences: [10 11 12 | 20 21 E | 30 E] [40 | E | E]
    PolicyTargets t = PolicyTargets.of(b, PolicyBatches.promptLengths(PAIRS));
    assertArrayEquals(new int[] {3, 2, 1, 1}, t.lengths());
    assertArrayEquals(new int[] {0, 1, 2, 3, 4, 2, 6, 8, 8}, t.rows());  // row 2 (token 12) predicts 20 and 30
    assertArrayEquals(new int[] {11, 12, 20, 21, E, 30, E, E, E}, t.targets());
    assertArrayEquals(new int[] {-1, -1, 0, 0, 0, 1, 1, 2, 3}, t.owner());
  }

  @Test
  void anEmptyPromptIsRefused() {
    List<int[][]> pairs = List.<int[][]>of(new int[][] {{}, {1, E}, {E}});
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PolicyTargets.of(PolicyBatches.pack(pairs, false), new int[] {0}));
    assertTrue(e.getMessage().contains("empty prompt"), e.getMessage());
  }
}
