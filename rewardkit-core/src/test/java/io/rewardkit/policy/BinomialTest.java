package io.rewardkit.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The one-sided binomial p of eval_binomial_p, against exact values (Python: sum(comb(n, i)) / 2**n, i >= k). */
class BinomialTest {
  @Test
  void upperTailMatchesExactSums() {
    assertEquals(0.00012659383036093505, PolicyTrainer.binomialUpperTail(171, 280), 1e-13);
    assertEquals(0.0003162106956054663, PolicyTrainer.binomialUpperTail(169, 280), 1e-13);
    assertEquals(0.10470243034962817, PolicyTrainer.binomialUpperTail(151, 280), 1e-10);
    assertEquals(0.5, PolicyTrainer.binomialUpperTail(2, 3), 1e-15);    // P(X >= 2), X ~ B(3, 1/2) = 4/8
    assertEquals(1.0 / 1024, PolicyTrainer.binomialUpperTail(10, 10), 1e-15);
    assertEquals(1.0, PolicyTrainer.binomialUpperTail(0, 10), 0);
  }
}
