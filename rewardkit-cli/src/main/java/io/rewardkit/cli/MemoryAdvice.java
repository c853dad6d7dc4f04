package io.rewardkit.cli;

import io.rewardkit.kernels.Device;
import io.rewardkit.model.MemoryPlan;
import io.rewardkit.model.ModelConfig;
import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * One-line out-of-memory messages: what the run needs (estimated from the model config and the
 * batch budget), what this process could get, and which option lowers the need.
 */
final class MemoryAdvice {
  private MemoryAdvice() {}

  private static final double GIB = 1024.0 * 1024 * 1024;

  /** The memory plan's figures (MemoryPlan: the one place the sizes are computed) in the out-of-memory line. */
  static String training(ModelConfig mc, Device device, boolean checkpointing, int maxTokensPerBatch, OutOfMemoryError e) {
    MemoryPlan.Estimate p = MemoryPlan.estimate(mc, device, MemoryPlan.Mode.FULL, null, checkpointing, maxTokensPerBatch);
    long state = p.weights() + p.gradients() + p.optimizerState() + p.masterWeights(), act = p.activations();
    return String.format(Locale.ROOT, "out of memory (%s): training this model needs about %.1f GiB (%,d parameters: %.1f GiB of"
        + " weights, gradients and AdamW state; %.1f GiB of activations for --max_tokens_per_batch %d), %s. Lower"
        + " --max_tokens_per_batch%s to shrink the activations; the model state only shrinks with a smaller model",
        where(e), p.total() / GIB, mc.numParameters(), state / GIB, act / GIB, maxTokensPerBatch, available(e),
        checkpointing ? "" : " or add --gradient_checkpointing");
  }

  /** For commands without a model estimate: what ran out and how to get more. */
  static String generic(OutOfMemoryError e) {
    return "out of memory (" + where(e) + "), " + available(e) + ". Lower --max_tokens_per_batch or use a smaller model"
        + (isHeap(e) ? "; or raise the Java heap (REWARDKIT_JAVA_OPTS=-Xmx<size>)" : "");
  }

  private static boolean isHeap(OutOfMemoryError e) {
    String m = String.valueOf(e.getMessage());
    return m.contains("Java heap") || m.contains("GC overhead") || m.contains("array size");
  }

  private static String where(OutOfMemoryError e) { return isHeap(e) ? "Java heap" : "native memory"; }

  private static String available(OutOfMemoryError e) {
    if (isHeap(e)) return String.format(Locale.ROOT, "the Java heap is limited to %.1f GiB", Runtime.getRuntime().maxMemory() / GIB);
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return String.format(Locale.ROOT, "this machine has %.1f GiB of memory", os.getTotalMemorySize() / GIB);
    }
    return "more than this machine has";
  }
}
