package io.rewardkit.bench;

import java.util.Locale;

/**
 * Datasheet dense (no sparsity) BF16 tensor-core peaks, by GPU name, for MFU. Override with
 * {@code --peak-tflops} for a part not listed or clocked differently.
 */
public final class DevicePeaks {
  private DevicePeaks() {}

  /** Dense BF16 peak in FLOP/s for a CUDA device name, or NaN when the name is not known. */
  public static double bf16DenseFlops(String deviceName) {
    String n = deviceName.toUpperCase(Locale.ROOT);
    if (n.contains("H200")) return 989.4e12;
    if (n.contains("H100") && (n.contains("PCIE"))) return 756.0e12;
    if (n.contains("H100") && n.contains("NVL")) return 835.5e12;
    if (n.contains("H100") || n.contains("H800")) return 989.4e12;   // SXM
    if (n.contains("GH200")) return 989.4e12;
    if (n.contains("B200")) return 2250e12;
    if (n.contains("A100") || n.contains("A800")) return 312e12;
    if (n.contains("L40S")) return 362.05e12;
    if (n.contains("L40")) return 181.05e12;
    if (n.contains("A10G")) return 70e12;
    if (n.contains("L4")) return 121e12;
    return Double.NaN;
  }
}
