package io.rewardkit.kernels;

import java.util.List;

/**
 * Configuration of {@link Backend#preferenceLoss} (see {@code native/include/rewardkit/preference_loss.h} for the
 * formulas). {@code nllAlpha} is TRL's {@code rpo_alpha} for DPO and {@code cpo_alpha} for CPO / SimPO (ORPO always
 * weighs its NLL term by 1; IPO has none). Option values are checked where they are parsed; the native op checks
 * them again.
 */
public record PreferenceLossSpec(int lossType, double beta, double labelSmoothing, double nllAlpha, double simpoGamma,
    double desirableWeight, double undesirableWeight) {

  /** Loss types, as the native {@code PreferenceLossType}. */
  public static final int DPO = 0, IPO = 1, CPO = 2, SIMPO = 3, ORPO = 4, KTO = 5;

  /** The {@code --task} names, indexed by loss type. */
  public static final List<String> TASKS = List.of("dpo", "ipo", "cpo", "simpo", "orpo", "kto");

  /** Indices into the stats array {@link Backend#preferenceLoss} returns (NaN where a metric does not apply). */
  public static final int LOSS = 0, REWARDS_CHOSEN = 1, REWARDS_REJECTED = 2, ACCURACIES = 3, MARGINS = 4,
      LOGPS_CHOSEN = 5, LOGPS_REJECTED = 6, NLL_LOSS = 7, LOG_ODDS_RATIO = 8, LOG_ODDS_CHOSEN = 9, KL = 10,
      NUM_STATS = 11;

  /** TRL's metric names for the stats, in stats order. */
  public static final List<String> METRIC_NAMES = List.of("loss", "rewards/chosen", "rewards/rejected",
      "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected", "nll_loss", "log_odds_ratio",
      "log_odds_chosen", "kl");

  public boolean needsReference() { return lossType == DPO || lossType == IPO || lossType == KTO; }

  public boolean paired() { return lossType != KTO; }

  public String task() { return TASKS.get(lossType); }
}
