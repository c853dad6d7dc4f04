package io.rewardkit.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What {@code --resume} continues from, shared by reward-model training ({@link Trainer}) and policy training
 * ({@code io.rewardkit.policy.PolicyTrainer}): which checkpoint, and whether the options allow continuing it.
 */
public final class ResumePoint {
  private ResumePoint() {}

  /** True when {@code --resume} asks to continue a run. */
  public static boolean requested(TrainConfig cfg) {
    return cfg.resume != null && !cfg.resume.isEmpty() && !cfg.resume.equals("false");
  }

  /**
   * The checkpoint --resume continues from: the newest intact one of the output directory {@code dir} (damaged
   * newer ones are reported and skipped), or the one named. Never a checkpoint that fails its checksums; an
   * output directory without one is an error. Null without --resume.
   */
  public static Path checkpoint(TrainConfig cfg, Path dir, PrintStream console) {
    if (!requested(cfg)) return null;
    if (cfg.resume.equals("latest") || cfg.resume.equals("true")) {
      Optional<Path> l = Checkpoints.newestIntact(dir, console);
      if (l.isPresent()) return l.get();
      if (!Checkpoints.list(dir).isEmpty()) {
        throw new RewardKitException("--resume: every checkpoint in " + cfg.outputDir + " is damaged (see above); nothing to resume from");
      }
      boolean started = Files.exists(dir.resolve("train_config.json")) || Files.exists(dir.resolve("metrics.jsonl"));
      throw new RewardKitException("--resume: " + cfg.outputDir + " holds no checkpoint to resume from"
          + (started ? " (the run there stopped before its first checkpoint: start it again without --resume)"
              : " (check --output_dir; without --resume a new run starts there)"));
    }
    Path p = Path.of(cfg.resume);
    if (!Files.isRegularFile(p.resolve(Checkpoints.TRAINER_STATE))) {
      throw new RewardKitException("--resume " + p + ": not a checkpoint (no " + Checkpoints.TRAINER_STATE + ")");
    }
    Optional<String> bad = Checkpoints.verify(p);
    if (bad.isPresent() && bad.get().equals(Checkpoints.LEGACY)) console.println("  " + p.getFileName() + ": " + bad.get());
    else if (bad.isPresent()) throw new RewardKitException("--resume " + p + ": checkpoint is damaged: " + bad.get());
    return p;
  }

  /**
   * Refuses a resume whose options differ from the checkpoint's {@code config} other than in
   * {@link TrainConfig#MAY_CHANGE_ON_RESUME}; allowed changes are applied and printed.
   */
  public static void checkOptions(ObjectNode state, Path ckpt, TrainConfig cfg, PrintStream console) {
    if (!(state.get("config") instanceof ObjectNode saved)) return;
    List<String> refused = new ArrayList<>();
    for (TrainConfig.Difference d : TrainConfig.differences(saved, cfg)) {
      if (d.mayChange()) console.println("  resume: " + d + " (applied)");
      else refused.add(d.toString());
    }
    if (!refused.isEmpty()) {
      throw new RewardKitException("--resume " + ckpt + ": options differ from the run being resumed: " + String.join(", ", refused)
          + " (only " + TrainConfig.mayChangeOnResume() + " may change; a different run needs another --output_dir)");
    }
  }

  /**
   * Refuses a resume whose {@code what} data ("training", "evaluation") has another fingerprint than the one the
   * checkpoint recorded ({@code before}; null: not recorded, nothing to check).
   */
  public static void checkData(Path ckpt, String what, String before, String after) {
    if (before == null || before.equals(after)) return;
    throw new RewardKitException("--resume " + ckpt + ": the " + what
        + " data differs from the run's (the files' content, --eval_split or --layout changed; fingerprint "
        + before.substring(0, Math.min(12, before.length())) + " -> "
        + (after == null ? "none" : after.substring(0, Math.min(12, after.length()))) + ")");
  }
}
