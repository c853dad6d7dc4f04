package io.rewardkit.kernels;

/**
 * The one place that decides whether CUDA can be used. The CPU path never touches CUDA classes:
 * everything CUDA-specific is reached only through here, after the probe succeeded.
 */
public final class CudaSupport {
  private CudaSupport() {}

  /** Result of looking for a usable GPU: available, or the reason why not. */
  public record Probe(boolean available, String detail) {}

  public static Probe probe() {
    return new Probe(false, "the CUDA backend is not built yet");
  }

  public static Backend open() {
    Probe p = probe();
    if (!p.available()) throw new IllegalStateException("--device cuda: " + p.detail());
    throw new IllegalStateException("--device cuda: not implemented");
  }
}
