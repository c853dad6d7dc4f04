package io.rewardkit.cli;

import io.rewardkit.RewardKitException;
import io.rewardkit.kernels.Device;
import io.rewardkit.model.MemoryPlan;
import io.rewardkit.model.MemoryPlan.Estimate;
import io.rewardkit.model.MemoryPlan.Mode;
import io.rewardkit.model.ModelConfig;
import io.rewardkit.train.TrainConfig;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The memory plan as train shows it: one line at the start of every run, the full table for
 * {@code --dry_run}, and the refusal (before anything is loaded) of a run that does not fit, naming the
 * options that would make it fit.
 */
final class MemoryPlanReport {
  private MemoryPlanReport() {}

  /** The rank the LoRA/QLoRA columns assume: PEFT reward-model recipes commonly use 16 on all linear modules. */
  static final int PLAN_LORA_R = 16;

  private final record Ctx(TrainConfig c, ModelConfig mc, Device device, MemoryPlan.Available avail) {}

  /**
   * The estimate of the run as configured: full fine-tuning, LoRA with --use_peft, QLoRA with --load_in_4bit too; on
   * CPU with --bf16 plus the bf16 GEMM's packing buffers.
   */
  static Estimate ofRun(TrainConfig c, ModelConfig mc, Device device) {
    Estimate e = modeEstimate(c, mc, device);
    return c.bf16 && device == Device.CPU ? e.plusWorkspace(MemoryPlan.bf16PackingBytes(mc, c.maxTokensPerBatch)) : e;
  }

  private static Estimate modeEstimate(TrainConfig c, ModelConfig mc, Device device) {
    if (c.usePeft) {
      java.util.Set<String> targets = new java.util.HashSet<>();
      if (c.loraTargetModules == null || c.loraTargetModules.equals("all-linear")) targets.addAll(MemoryPlan.LINEAR_MODULES);
      else for (String t : c.loraTargetModules.split(",")) targets.add(t.trim());
      return MemoryPlan.estimate(mc, device, c.loadIn4bit ? Mode.QLORA : Mode.LORA, new MemoryPlan.Lora(c.loraR, targets),
          c.gradientCheckpointing, c.maxTokensPerBatch);
    }
    return MemoryPlan.estimate(mc, device, Mode.FULL, null, c.gradientCheckpointing, c.maxTokensPerBatch);
  }

  /** Every mode with and without checkpointing, the run's own configuration first. */
  static List<Estimate> columns(TrainConfig c, ModelConfig mc, Device device) {
    MemoryPlan.Lora lora = MemoryPlan.Lora.allLinear(PLAN_LORA_R);
    List<Estimate> out = new ArrayList<>();
    Estimate run = ofRun(c, mc, device);
    out.add(run);
    for (Mode m : Mode.values()) {
      for (boolean ck : new boolean[] {false, true}) {
        if (m == run.mode() && ck == run.checkpointing()) continue;
        out.add(MemoryPlan.estimate(mc, device, m, lora, ck, c.maxTokensPerBatch));
      }
    }
    return out;
  }

  static String header(TrainConfig c, ModelConfig mc, Device device, MemoryPlan.Available avail) {
    return String.format(Locale.ROOT, "memory plan: %s, %d layers, %,d parameters; %s (%s), --max_tokens_per_batch %d; %s",
        mc.family().modelType(), mc.numHiddenLayers(), mc.numParameters(), device.name().toLowerCase(Locale.ROOT),
        device == Device.CUDA ? "bf16 weights, fp32 grads/AdamW/masters" : "fp32", c.maxTokensPerBatch,
        avail.bytes() > 0 ? MemoryPlan.gib(avail.bytes()) + " " + avail.what() : avail.what());
  }

  /** --dry_run: header, the table (first column: this run), the verdict. Returns the exit code (1: does not fit). */
  static int dryRun(TrainConfig c, ModelConfig mc, Device device, MemoryPlan.Available avail, PrintStream out) {
    out.println(header(c, mc, device, avail));
    out.print(MemoryPlan.table(columns(c, mc, device), avail));
    Estimate run = ofRun(c, mc, device);
    boolean fits = avail.bytes() <= 0 || run.total() <= avail.bytes();
    if (avail.bytes() <= 0) {
      out.println("this run (" + run.label() + ") needs " + MemoryPlan.gib(run.total()) + "; fit not checked (" + avail.what() + ")");
    } else if (fits) {
      out.println("this run (" + run.label() + ") needs " + MemoryPlan.gib(run.total()) + " of " + MemoryPlan.gib(avail.bytes())
          + " " + avail.what() + ": fits");
    } else {
      out.println(notFitting(new Ctx(c, mc, device, avail), run));
    }
    out.println("dry run: nothing loaded or written");
    return fits ? 0 : 1;
  }

  /** Before loading: a run that does not fit is refused with the numbers, what would fit, and the table. */
  static void requireFits(TrainConfig c, ModelConfig mc, Device device, MemoryPlan.Available avail) {
    Estimate run = ofRun(c, mc, device);
    if (avail.bytes() <= 0 || run.total() <= avail.bytes()) return;
    throw new RewardKitException(notFitting(new Ctx(c, mc, device, avail), run) + " (--dry_run prints this plan)\n"
        + header(c, mc, device, avail) + "\n" + MemoryPlan.table(columns(c, mc, device), avail).stripTrailing());
  }

  private static String notFitting(Ctx x, Estimate run) {
    return "this run (" + run.label() + ") needs " + MemoryPlan.gib(run.total()) + " but " + MemoryPlan.gib(x.avail().bytes()) + " is "
        + x.avail().what() + "; " + suggestions(x);
  }

  /** The options that would make the run fit, each with what it needs. */
  static String suggestions(Ctx x) {
    long avail = x.avail().bytes();
    int tokens = x.c().maxTokensPerBatch;
    List<String> s = new ArrayList<>();
    boolean ck = x.c().gradientCheckpointing, ckFits = false;
    if (!ck) {
      Estimate e = MemoryPlan.estimate(x.mc(), x.device(), Mode.FULL, null, true, tokens);
      ckFits = e.total() <= avail;
      if (ckFits) s.add("--gradient_checkpointing (" + MemoryPlan.gib(e.total()) + ")");
    }
    // the largest power-of-two budget >= 2 x --max_length that fits: as the run is, else with checkpointing
    // (unless checkpointing alone already fits)
    int minTokens = Math.max(8, 2 * x.c().maxLength);
    for (boolean withCk : ck ? new boolean[] {true} : ckFits ? new boolean[] {false} : new boolean[] {false, true}) {
      for (int t = Integer.highestOneBit(Math.max(tokens - 1, 1)); t >= minTokens; t /= 2) {
        Estimate e = MemoryPlan.estimate(x.mc(), x.device(), Mode.FULL, null, withCk, t);
        if (e.total() <= avail) {
          s.add("--max_tokens_per_batch " + t + (withCk && !ck ? " --gradient_checkpointing" : "") + " (" + MemoryPlan.gib(e.total()) + ")");
          break;
        }
      }
    }
    MemoryPlan.Lora lora = MemoryPlan.Lora.allLinear(PLAN_LORA_R);
    for (Mode m : new Mode[] {Mode.LORA, Mode.QLORA}) {
      if (m == Mode.LORA && x.c().usePeft || m == Mode.QLORA && x.c().loadIn4bit) continue;  // already the run's mode
      for (boolean withCk : new boolean[] {false, true}) {
        Estimate e = MemoryPlan.estimate(x.mc(), x.device(), m, lora, withCk, tokens);
        if (e.total() <= avail) {
          String how = "--use_peft" + (m == Mode.QLORA ? " --load_in_4bit" : "") + " --lora_r " + PLAN_LORA_R
              + (withCk ? " --gradient_checkpointing" : "") + " (" + m.label() + ", ";
          s.add(how + MemoryPlan.gib(e.total()) + ")");
          break;
        }
      }
    }
    return s.isEmpty() ? "nothing RewardKit offers fits: use a device with more memory or a smaller model"
        : "would fit with: " + String.join("; ", s);
  }
}
