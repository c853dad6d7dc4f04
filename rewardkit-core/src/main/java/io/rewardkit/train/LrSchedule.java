package io.rewardkit.train;

import io.rewardkit.RewardKitException;

/**
 * Learning-rate schedules with linear warmup, following Hugging Face's {@code get_scheduler}: the
 * optimizer step with 0-based index {@code s} uses {@code lr(s)}; after warmup, progress runs from
 * 0 to 1 over the remaining steps.
 */
public final class LrSchedule {

  public enum Type {
    CONSTANT, LINEAR, COSINE, COSINE_WITH_MIN_LR;

    public static Type parse(String name) {
      return switch (name) {
        case "constant", "constant_with_warmup" -> CONSTANT;
        case "linear" -> LINEAR;
        case "cosine" -> COSINE;
        case "cosine_with_min_lr" -> COSINE_WITH_MIN_LR;
        default -> throw new RewardKitException("lr_scheduler_type must be constant, linear, cosine or "
            + "cosine_with_min_lr, got '" + name + "'");
      };
    }
  }

  private final Type type;
  private final double peak;
  private final long totalSteps;
  private final long warmupSteps;
  private final double minLrRate;

  public LrSchedule(Type type, double peak, long totalSteps, long warmupSteps, double minLrRate) {
    if (totalSteps < 1) throw new IllegalArgumentException("totalSteps must be >= 1");
    this.type = type;
    this.peak = peak;
    this.totalSteps = totalSteps;
    this.warmupSteps = Math.min(warmupSteps, totalSteps);
    this.minLrRate = minLrRate;
  }

  /** Warmup length: explicit steps win over the ratio (HF: ceil(ratio * total)). */
  public static long warmupSteps(long totalSteps, int steps, double ratio) {
    return steps > 0 ? steps : (long) Math.ceil(ratio * totalSteps);
  }

  public static LrSchedule of(TrainConfig c, long totalSteps) {
    return new LrSchedule(Type.parse(c.lrSchedulerType), c.learningRate, totalSteps,
        warmupSteps(totalSteps, c.warmupSteps, c.warmupRatio), c.minLrRate);
  }

  public long warmupSteps() { return warmupSteps; }
  public long totalSteps() { return totalSteps; }

  /** Learning rate of the optimizer step with 0-based index {@code step}. */
  public double lr(long step) {
    if (step < warmupSteps) return peak * (double) step / Math.max(1, warmupSteps);
    double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
    return switch (type) {
      case CONSTANT -> peak;
      case LINEAR -> peak * Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
      case COSINE -> peak * Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress)));
      case COSINE_WITH_MIN_LR -> {
        double f = 0.5 * (1.0 + Math.cos(Math.PI * progress));
        yield peak * (f * (1 - minLrRate) + minLrRate);
      }
    };
  }
}
