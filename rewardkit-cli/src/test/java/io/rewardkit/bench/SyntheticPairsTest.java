package io.rewardkit.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SyntheticPairsTest {

  private static double median(List<PairTokens> pairs, int which) {
    int[] v = pairs.stream().mapToInt(p -> switch (which) {
      case 0 -> p.prompt().length;
      case 1 -> p.chosen().length;
      default -> p.rejected().length;
    }).sorted().toArray();
    return v[v.length / 2];
  }

  @Test
  void sameSeedSamePairsOtherSeedOtherPairs() {
    List<PairTokens> a = SyntheticPairs.generate(LengthProfile.HH_RLHF, 50, 1000, 2048, 7);
    List<PairTokens> b = SyntheticPairs.generate(LengthProfile.HH_RLHF, 50, 1000, 2048, 7);
    List<PairTokens> c = SyntheticPairs.generate(LengthProfile.HH_RLHF, 50, 1000, 2048, 8);
    for (int i = 0; i < 50; i++) {
      assertArrayEquals(a.get(i).prompt(), b.get(i).prompt());
      assertArrayEquals(a.get(i).rejected(), b.get(i).rejected());
    }
    assertNotEquals(a.get(0).prompt().length + a.get(1).chosen().length, c.get(0).prompt().length + c.get(1).chosen().length);
  }

  @Test
  void mediansFollowTheProfiles() {
    List<PairTokens> hh = SyntheticPairs.generate(LengthProfile.HH_RLHF, 4000, 151936, 4096, 1);
    assertEquals(150, median(hh, 0), 15);
    assertEquals(60, median(hh, 1), 8);
    assertEquals(60, median(hh, 2), 8);
    List<PairTokens> uf = SyntheticPairs.generate(LengthProfile.ULTRAFEEDBACK, 4000, 151936, 4096, 1);
    assertEquals(200, median(uf, 0), 20);
    assertEquals(500, median(uf, 1), 30);
    long inRange = uf.stream().filter(p -> p.chosen().length >= 400 && p.chosen().length <= 600).count();
    assertTrue(inRange > 0.7 * uf.size(), "most long responses lie in 400-600, got " + inRange);
  }

  @Test
  void pairsFitTheMaxLengthAndIdsFitTheVocabulary() {
    List<PairTokens> pairs = SyntheticPairs.generate(LengthProfile.ULTRAFEEDBACK, 500, 97, 300, 3);
    for (PairTokens p : pairs) {
      assertTrue(p.sharedTokens() <= 300, "pair of " + p.sharedTokens() + " tokens");
      assertTrue(Arrays.stream(p.chosen()).allMatch(t -> t >= 0 && t < 97));
    }
  }

  @Test
  void fitShrinksResponsesBeforeThePrompt() {
    assertArrayEquals(new int[] {100, 50, 50}, SyntheticPairs.fit(new int[] {100, 50, 50}, 400));
    int[] f = SyntheticPairs.fit(new int[] {100, 900, 800}, 400);
    assertEquals(400, f[0] + f[1] + f[2]);
    assertEquals(100, f[0]);
  }

  @Test
  void profileNamesParse() {
    assertEquals(LengthProfile.HH_RLHF, LengthProfile.parse("hh-rlhf"));
    assertEquals(LengthProfile.ULTRAFEEDBACK, LengthProfile.parse("UltraFeedback"));
    assertEquals(LengthProfile.ULTRAFEEDBACK, LengthProfile.parse("long"));
  }
}
