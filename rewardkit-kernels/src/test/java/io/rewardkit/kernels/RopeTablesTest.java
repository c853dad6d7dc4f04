package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.*;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RopeTablesTest {

  // head_dim 8, theta 10000: invFreq[i] = 10000^(-2i/8) = 1, 0.1, 0.01, 0.001.
  @Test
  void plainTablesMatchHandComputedValues() {
    RopeTables rope = RopeTables.build(8, 10000, 10, null);
    assertArrayEquals(new double[] {1, 0.1, 0.01, 0.001}, rope.invFreq(), 1e-15);
    assertEquals(1.0, rope.cos(0, 3), 0.0);
    assertEquals(0.0, rope.sin(0, 0), 0.0);
    assertEquals(0.8775825618903728, rope.cos(5, 1), 1e-15);   // cos(5 · 0.1)
    assertEquals(0.479425538604203, rope.sin(5, 1), 1e-15);
    assertEquals(0.28366218546322625, rope.cos(5, 0), 1e-15);  // cos(5 · 1)
    assertEquals(-0.9589242746631385, rope.sin(5, 0), 1e-15);
    assertEquals(0.9975510002532796, rope.cos(7, 2), 1e-15);   // cos(7 · 0.01)
    assertEquals(0.06994284733753277, rope.sin(7, 2), 1e-15);
    assertThrows(IndexOutOfBoundsException.class, () -> rope.cos(10, 0));
    assertThrows(IndexOutOfBoundsException.class, () -> rope.sin(0, 4));
  }

  // factor 8, low 1, high 4, original 1024: low_freq_wavelen = 1024, high_freq_wavelen = 256.
  // Wavelengths 2π/invFreq = 6.28, 62.8, 628.3, 6283: two short (kept), one in the band, one long (/8).
  @Test
  void llama3ScalingCoversAllThreeRegimes() {
    RopeTables.Llama3Scaling scaling = new RopeTables.Llama3Scaling(8, 1, 4, 1024);
    double[] inv = RopeTables.inverseFrequencies(8, 10000, scaling);
    assertEquals(1.0, inv[0], 1e-15);                  // high frequency: unchanged
    assertEquals(0.1, inv[1], 1e-15);                  // high frequency: unchanged
    // band: smooth = (1024 / (2π · 100) − 1) / (4 − 1) = 0.2099155...;
    // (1 − smooth) · 0.01 / 8 + smooth · 0.01 = 0.0030867609670112...
    assertEquals(0.003086760967011274, inv[2], 1e-17);
    assertEquals(0.001 / 8, inv[3], 1e-18);            // low frequency: divided by factor
    RopeTables rope = RopeTables.build(8, 10000, 1001, scaling);
    assertEquals(0.9999571238866934, rope.cos(3, 2), 1e-15);
    assertEquals(0.009260150552342541, rope.sin(3, 2), 1e-15);
    assertEquals(0.992197667229329, rope.cos(1000, 3), 1e-15);  // cos(1000 · 0.000125)
  }

  // Llama 3.1 8B: head_dim 128, theta 500000, factor 8, low 1, high 4, original 8192.
  @Test
  void llama31ScalingIsMonotoneAndBoundedByTheTwoLimits() {
    RopeTables.Llama3Scaling scaling = new RopeTables.Llama3Scaling(8, 1, 4, 8192);
    double[] plain = RopeTables.inverseFrequencies(128, 500000, null);
    double[] scaled = RopeTables.inverseFrequencies(128, 500000, scaling);
    int kept = 0, divided = 0, blended = 0;
    for (int i = 0; i < 64; i++) {
      if (i > 0) assertTrue(scaled[i] < scaled[i - 1], "not decreasing at " + i);
      if (scaled[i] == plain[i]) kept++;
      else if (Math.abs(scaled[i] - plain[i] / 8) <= 1e-18 * plain[i]) divided++;
      else {
        blended++;
        assertTrue(scaled[i] > plain[i] / 8 && scaled[i] < plain[i], "blend outside its limits at " + i);
      }
    }
    // Wavelength 2π · 500000^(i/64) is 1956 at i = 28, 2402 at 29, 8219 at 35: it crosses
    // high_freq_wavelen 2048 between i = 28 and 29, and low_freq_wavelen 8192 between 34 and 35.
    assertEquals(29, kept);
    assertEquals(6, blended);
    assertEquals(29, divided);
  }

  @Test
  void parsesHfRopeScalingObjects() {
    Map<String, Object> cfg = new HashMap<>();
    cfg.put("rope_type", "llama3");
    cfg.put("factor", 8.0);
    cfg.put("low_freq_factor", 1.0);
    cfg.put("high_freq_factor", 4.0);
    cfg.put("original_max_position_embeddings", 8192);
    assertEquals(new RopeTables.Llama3Scaling(8, 1, 4, 8192), RopeTables.parseScaling(cfg));
    cfg.remove("rope_type");
    cfg.put("type", "llama3");  // older configs
    assertEquals(new RopeTables.Llama3Scaling(8, 1, 4, 8192), RopeTables.parseScaling(cfg));
    assertNull(RopeTables.parseScaling(null));
    assertNull(RopeTables.parseScaling(Map.of("rope_type", "default")));
    IllegalArgumentException yarn = assertThrows(IllegalArgumentException.class,
        () -> RopeTables.parseScaling(Map.of("rope_type", "yarn", "factor", 4.0)));
    assertTrue(yarn.getMessage().contains("yarn"), yarn.getMessage());
    cfg.remove("factor");
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> RopeTables.parseScaling(cfg));
    assertTrue(missing.getMessage().contains("factor"), missing.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new RopeTables.Llama3Scaling(8, 4, 1, 8192));
  }

  @Test
  void uploadsBothDtypesWithTheTableShape() {
    RopeTables rope = RopeTables.build(6, 10000, 4, null);
    try (Backend cpu = new CpuBackend()) {
      RopeTables.Uploaded f32 = rope.upload(cpu, DType.F32);
      RopeTables.Uploaded f64 = rope.upload(cpu, DType.F64);
      assertArrayEquals(new long[] {4, 3}, f32.cos().shape());
      assertArrayEquals(new long[] {4, 3}, f64.sin().shape());
      for (int p = 0; p < 4; p++) {
        for (int i = 0; i < 3; i++) {
          assertEquals((float) rope.cos(p, i), (float) f32.cos().getDouble(p * 3 + i), 0f);
          assertEquals((float) rope.sin(p, i), (float) f32.sin().getDouble(p * 3 + i), 0f);
          assertEquals(rope.cos(p, i), f64.cos().getDouble(p * 3 + i), 0.0);
          assertEquals(rope.sin(p, i), f64.sin().getDouble(p * 3 + i), 0.0);
        }
      }
      assertThrows(IllegalArgumentException.class, () -> rope.upload(cpu, DType.I32));
    }
  }

  @Test
  void badArgumentsAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> RopeTables.build(7, 10000, 4, null));
    assertThrows(IllegalArgumentException.class, () -> RopeTables.build(0, 10000, 4, null));
    assertThrows(IllegalArgumentException.class, () -> RopeTables.build(8, 0, 4, null));
    assertThrows(IllegalArgumentException.class, () -> RopeTables.build(8, 10000, 0, null));
  }
}
