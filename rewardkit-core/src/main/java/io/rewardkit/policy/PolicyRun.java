package io.rewardkit.policy;

import io.rewardkit.RewardKitException;
import io.rewardkit.UsageException;
import io.rewardkit.data.DataOptions;
import io.rewardkit.data.Tokenizer;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backends;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.PreferenceLossSpec;
import io.rewardkit.model.ModelConfig;
import io.rewardkit.train.RunDirectory;
import io.rewardkit.train.RunSetup;
import io.rewardkit.train.TrainConfig;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;

/**
 * {@code rewardkit train --task dpo|ipo|cpo|simpo|orpo|kto}: the same data options, model sources and run-directory
 * rules as reward-model training (one writer, no silent overwrite), then {@link PolicyTrainer}. The reference
 * (dpo, ipo, kto) is {@code --ref_model}, else the policy's own starting point; its log-probs are computed once,
 * written beside the run ({@code ref_logps_train.json}, {@code ref_logps_eval.json}) and the reference closed
 * before the policy trains.
 */
public final class PolicyRun {
  private PolicyRun() {}

  public static int run(TrainConfig c, PrintStream out) throws Exception {
    if (c.resume != null && !c.resume.isEmpty() && !c.resume.equals("false")) {
      throw new UsageException("--resume is not available for --task " + c.task + " yet (reward training only)");
    }
    if (c.usePeft) {
      throw new UsageException("--use_peft is not available for --task " + c.task + " yet (reward training only): "
          + "the policy trains every weight");
    }
    PreferenceLossSpec spec = PolicyTrainer.spec(c);
    try (Backend backend = Backends.select(c.device); Tokenizer tok = RunSetup.tokenizer(c)) {
      if (backend.computeType() != DType.F32) {
        throw new UsageException("--task " + c.task + " runs on the CPU backend only so far: use --device cpu");
      }
      ModelConfig mc = RunSetup.modelConfig(c);
      RunSetup.checkFits(c, mc, tok);
      mc.checkMaxLength(c.maxLength, "--max_length");
      try (RunDirectory run = RunDirectory.acquire(Path.of(c.outputDir))) {
        run.begin(false, c.overwriteOutputDir, c.outputDir, out);
        RunSetup.applyThreads(c, backend);
        DataOptions options = RunSetup.dataOptions(c);
        if (options.readsLastToken()) {
          throw new UsageException("--task " + c.task + " needs the EOS appended to every response (--reward_token)");
        }
        RunSetup.Data data = RunSetup.data(c, tok, options);
        for (String line : RunSetup.dataLines(c, data)) out.println(line);
        Path work = run.work();
        ReferenceLogps refTrain = null, refEval = null;
        if (spec.needsReference()) {
          String refSource = c.refModel != null ? c.refModel : c.modelNameOrPath != null ? c.modelNameOrPath
              : "random init of " + (c.initConfig != null ? c.initConfig : "the embedded config") + " seed " + c.seed;
          long t0 = System.nanoTime();
          try (PolicyModel ref = start(c, mc, backend, true)) {
            refTrain = ReferenceLogps.compute(ref, data.train(), options.layout(), refSource);
            refTrain.save(work.resolve("ref_logps_train.json"));
            if (data.eval() != null) {
              refEval = ReferenceLogps.compute(ref, data.eval(), options.layout(), refSource);
              refEval.save(work.resolve("ref_logps_eval.json"));
            }
          }
          out.printf(Locale.ROOT, "reference log-probs of %s: %d train + %d eval pairs in %.1f s (reference closed)%n",
              refSource, refTrain.size(), refEval == null ? 0 : refEval.size(), (System.nanoTime() - t0) / 1e9);
        }
        try (PolicyModel policy = start(c, mc, backend, false)) {
          out.printf(Locale.ROOT, "policy: %s, %s head, task %s (beta %s)%n", mc.family().causalLmArchitecture(),
              policy.tied() ? "tied" : "untied", c.task, c.beta);
          PolicyTrainer.Result r = new PolicyTrainer(c, policy, data.train(), data.eval(), refTrain, refEval, out).train(work);
          run.promote(out);
          out.printf(Locale.ROOT, "done: %d steps, %,d tokens in %.1f s (%.0f tokens/s)%n", r.steps(), r.tokens(), r.seconds(),
              r.tokens() / r.seconds());
          out.println("outputs in " + Path.of(c.outputDir).toAbsolutePath().normalize() + ": final/ (HF "
              + mc.family().causalLmArchitecture() + "), metrics.jsonl" + (spec.needsReference() ? ", ref_logps_*.json" : ""));
        } catch (RuntimeException | Error e) {
          run.abandon();
          throw e;
        }
      }
    }
    return 0;
  }

  /** The policy's starting point, or the reference (--ref_model, else the same starting point). */
  private static PolicyModel start(TrainConfig c, ModelConfig mc, Backend backend, boolean reference) {
    if (reference && c.refModel != null) return PolicyModel.fromPretrained(Path.of(c.refModel), backend, DType.F32);
    if (c.modelNameOrPath != null) return PolicyModel.fromPretrained(Path.of(c.modelNameOrPath), backend, DType.F32);
    if (mc.vocabSize() < 1) throw new RewardKitException("model config has no vocabulary");
    return PolicyModel.randomInit(mc, backend, DType.F32, c.seed);
  }
}
