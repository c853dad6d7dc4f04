package io.rewardkit.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Size classes of the caching allocator (pure arithmetic: runs without a GPU). */
class CudaDeviceCacheTest {
  @Test
  void roundsToBoundedSizeClasses() {
    assertEquals(256, DeviceCache.roundUp(0));
    assertEquals(256, DeviceCache.roundUp(1));
    assertEquals(256, DeviceCache.roundUp(256));
    assertEquals(512, DeviceCache.roundUp(257));
    assertEquals(1L << 20, DeviceCache.roundUp((1L << 20) - 3));
    assertEquals(2L << 20, DeviceCache.roundUp((1L << 20) + 1));
    for (long b = 1; b < (64L << 20); b = b * 3 + 7) {
      long r = DeviceCache.roundUp(b);
      assertTrue(r >= b && r % 256 == 0, "size class for " + b);
      assertTrue(r - b < Math.max(256, 1 << 20), "waste bounded for " + b);
    }
  }
}
