package io.rewardkit.policy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.UsageException;
import io.rewardkit.data.DataOptions;
import io.rewardkit.data.Tokenizer;
import io.rewardkit.kernels.Backend;
import io.rewardkit.kernels.Backends;
import io.rewardkit.kernels.DType;
import io.rewardkit.kernels.PreferenceLossSpec;
import io.rewardkit.model.ModelConfig;
import io.rewardkit.model.lora.LoraAdapters;
import io.rewardkit.model.lora.LoraConfig;
import io.rewardkit.train.Checkpoints;
import io.rewardkit.train.ResumePoint;
import io.rewardkit.train.RunDirectory;
import io.rewardkit.train.RunSetup;
import io.rewardkit.train.TrainConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * {@code rewardkit train --task dpo|ipo|cpo|simpo|orpo|kto}: the same data options, model sources and run-directory
 * rules as reward-model training (one writer, no silent overwrite, {@code --resume} of the newest intact checkpoint
 * or a named one), then {@link PolicyTrainer}. The reference (dpo, ipo, kto) is {@code --ref_model}, else the
 * policy's own starting point; its log-probs are computed once, written beside the run
 * ({@code ref_logps_train.json}, {@code ref_logps_eval.json}) and into every checkpoint, and the reference closed
 * before the policy trains. A resumed run reads them back from its checkpoint instead of recomputing them.
 *
 * <p>{@code --use_peft}: LoRA adapters (PEFT's init, {@code --lora_*}) on a frozen {@code --model_name_or_path}, LM head
 * frozen too (PEFT's CAUSAL_LM default); checkpoints and final/ hold a PEFT CAUSAL_LM adapter directory. The reference
 * without {@code --ref_model} is the base itself, which is what the adapted policy starts as (lora_B = 0), as TRL
 * takes a PEFT model's reference with its adapters disabled.
 */
public final class PolicyRun {
  private PolicyRun() {}

  public static int run(TrainConfig c, PrintStream out) throws Exception {
    PreferenceLossSpec spec = PolicyTrainer.spec(c);
    try (Backend backend = Backends.select(c.device, c.bf16); Tokenizer tok = RunSetup.tokenizer(c)) {
      if (backend.computeType() != DType.F32) {
        throw new UsageException("--task " + c.task + " runs on the CPU backend only so far: use --device cpu");
      }
      ModelConfig mc = RunSetup.modelConfig(c);
      RunSetup.checkFits(c, mc, tok);
      mc.checkMaxLength(c.maxLength, "--max_length");
      try (RunDirectory run = RunDirectory.acquire(Path.of(c.outputDir))) {
        Path resumed = ResumePoint.checkpoint(c, run.target(), out);
        ObjectNode state = null;
        if (resumed != null) {
          state = Checkpoints.readJson(resumed.resolve(Checkpoints.TRAINER_STATE));
          String task = state.path("task").asText(null);
          if (task == null) {
            throw new RewardKitException("--resume " + resumed + ": a reward-model checkpoint, not a --task " + c.task + " one");
          }
          ResumePoint.checkOptions(state, resumed, c, out);
        }
        run.begin(resumed != null, c.overwriteOutputDir, c.outputDir, out);
        try {
          return train(c, out, spec, backend, mc, tok, run, resumed, state);
        } catch (RuntimeException | IOException | Error e) {
          run.abandon();
          if (!RunDirectory.holdsRun(run.target())) {
            // a new run that saved no checkpoint leaves nothing behind, its reference log-probs included
            for (String f : new String[] {PolicyTrainer.REF_TRAIN, PolicyTrainer.REF_EVAL}) Files.deleteIfExists(run.target().resolve(f));
          }
          throw e;
        }
      }
    }
  }

  private static int train(TrainConfig c, PrintStream out, PreferenceLossSpec spec, Backend backend, ModelConfig mc,
      Tokenizer tok, RunDirectory run, Path resumed, ObjectNode state) throws IOException {
    RunSetup.applyThreads(c, backend);
    DataOptions options = RunSetup.dataOptions(c);
    if (options.readsLastToken()) {
      throw new UsageException("--task " + c.task + " needs the EOS appended to every response (--reward_token)");
    }
    RunSetup.Data data = RunSetup.data(c, tok, options);
    for (String line : RunSetup.dataLines(c, data)) out.println(line);
    if (resumed != null) {
      ResumePoint.checkData(resumed, "training", state.path("data_fingerprint").path("train").asText(null),
          data.train().fingerprint());
      ResumePoint.checkData(resumed, "evaluation", state.path("data_fingerprint").path("eval").asText(null),
          data.eval() == null ? null : data.eval().fingerprint());
    }
    Path work = run.work();
    ReferenceLogps refTrain = null, refEval = null;
    boolean kto = spec.lossType() == PreferenceLossSpec.KTO;
    CachedReference cached = spec.needsReference() ? cachedReference(c) : null;
    if (cached != null && c.refModel != null) {
      String sha = CachedReference.modelSha256(Path.of(c.refModel));
      if (!sha.equals(cached.referenceSha256())) {
        throw new UsageException("--ref_model " + c.refModel + " (SHA-256 " + sha.substring(0, 12) + ") is not the reference "
            + "whose log-probs the prepared cache " + c.dataset.get(0) + " holds (" + cached.reference() + ", SHA-256 "
            + cached.referenceSha256().substring(0, 12) + "): leave --ref_model out to use the cache's, or re-run "
            + "rewardkit prepare --ref_model " + c.refModel);
      }
    }
    // a cache's reference is the run's reference (its directory names it), --ref_model or not
    String refDir = cached != null ? cached.reference() : c.refModel;
    if (spec.needsReference()) {
      String refSource = cached != null ? cached.reference() : referenceName(c);
      if (resumed != null) {
        refTrain = reused(resumed, PolicyTrainer.REF_TRAIN, data.train(), refSource, state.path("ref_logps").path("train_sha256").asText(null));
        if (data.eval() != null) {
          refEval = reused(resumed, PolicyTrainer.REF_EVAL, data.eval(), refSource, state.path("ref_logps").path("eval_sha256").asText(null));
        }
        long total = PolicyTrainer.totalSteps(c, data.train());
        if (spec.lossType() == PreferenceLossSpec.KTO && refTrain.klBins() < total) {
          throw new RewardKitException("--resume " + resumed + ": the reference's KTO KL log-probs cover " + refTrain.klBins()
              + " steps, this run has " + total + " (--max_steps / --num_train_epochs grew): a longer KTO run needs a new run");
        }
        out.printf(Locale.ROOT, "reference log-probs of %s: %d train + %d eval pairs read from %s (not recomputed)%n",
            refSource, refTrain.size(), refEval == null ? 0 : refEval.size(), resumed.getFileName());
      } else if (cached != null && !kto) {
        refTrain = cached.of(data.train());
        refTrain.save(work.resolve(PolicyTrainer.REF_TRAIN));
        if (data.eval() != null) {
          refEval = cached.of(data.eval());
          refEval.save(work.resolve(PolicyTrainer.REF_EVAL));
        }
        out.printf(Locale.ROOT, "reference log-probs of %s: %d train + %d eval pairs from the prepared cache (%s; the reference "
            + "is not loaded)%n", refSource, refTrain.size(), refEval == null ? 0 : refEval.size(), CachedReference.FILE);
      } else {
        if (cached != null) out.println("kto: the KL rows depend on this run's bins; the cache's reference runs once now");
        long t0 = System.nanoTime();
        try (PolicyModel ref = start(c, mc, backend, true, refDir)) {
          refTrain = ReferenceLogps.compute(ref, data.train(), options.layout(), refSource);
          if (kto) {
            refTrain.withKl(ReferenceLogps.computeKl(ref, data.train(), options.layout(),
                PolicyTrainer.trainBins(data.train(), options.layout(), PolicyTrainer.totalSteps(c, data.train()))));
          }
          refTrain.save(work.resolve(PolicyTrainer.REF_TRAIN));
          if (data.eval() != null) {
            refEval = ReferenceLogps.compute(ref, data.eval(), options.layout(), refSource);
            if (kto) {
              refEval.withKl(ReferenceLogps.computeKl(ref, data.eval(), options.layout(),
                  PolicyTrainer.evalBins(data.eval(), options.layout())));
            }
            refEval.save(work.resolve(PolicyTrainer.REF_EVAL));
          }
        }
        out.printf(Locale.ROOT, "reference log-probs of %s: %d train + %d eval pairs in %.1f s (reference closed)%n",
            refSource, refTrain.size(), refEval == null ? 0 : refEval.size(), (System.nanoTime() - t0) / 1e9);
      }
    }
    try (PolicyModel policy = start(c, mc, backend, false, null)) {
      out.printf(Locale.ROOT, "policy: %s, %s head, task %s (beta %s)%n", mc.family().causalLmArchitecture(),
          policy.tied() ? "tied" : "untied", c.task, c.beta);
      Map<String, Object> info = new LinkedHashMap<>();
      Map<String, Object> model = new LinkedHashMap<>();
      model.put("source", c.modelNameOrPath != null ? c.modelNameOrPath
          : "random init of " + (c.initConfig != null ? c.initConfig : "the embedded config") + " seed " + c.seed);
      model.put("model_type", mc.family().causalLmArchitecture());
      long params = 0;
      for (var p : policy.params()) params += p.weight().numel();
      model.put("parameters", params);  // trainable: with LoRA the adapters'
      if (policy.adapters() != null) {
        out.println(loraLine(policy));
        model.put("lora", loraInfo(policy.adapters()));
      }
      model.put("num_hidden_layers", mc.numHiddenLayers());
      model.put("hidden_size", mc.hiddenSize());
      model.put("vocab_size", mc.vocabSize());
      if (spec.needsReference()) model.put("reference", cached != null ? cached.reference() : referenceName(c));
      info.put("model", model);
      if (!data.trainNames().isEmpty()) info.put("datasets", data.trainNames());
      PolicyTrainer trainer = new PolicyTrainer(c, policy, data.train(), data.eval(), refTrain, refEval, out).in(run).describe(info)
          .withTokenizerFiles(RunSetup.tokenizerFiles(tok));
      if (resumed != null) trainer.resumeFrom(resumed, state);
      PolicyTrainer.Result r = trainer.train(work);
      run.promote(out);
      out.printf(Locale.ROOT, "done: %d steps, %,d tokens in %.1f s (%.0f tokens/s)%n", r.steps(), r.tokens(), r.seconds(),
          r.tokens() / r.seconds());
      Path outDir = Path.of(c.outputDir).toAbsolutePath().normalize();
      out.println("outputs in " + outDir + ": final/ (" + (policy.adapters() != null ? "PEFT CAUSAL_LM LoRA adapter for "
          + policy.adapters().baseModel() : "HF " + mc.family().causalLmArchitecture()) + "), checkpoint-*/, metrics.jsonl"
          + (c.report ? ", report/" : "") + (spec.needsReference() ? ", ref_logps_*.json" : ""));
      if (policy.adapters() != null) {
        out.println("merge it into a full " + mc.family().causalLmArchitecture() + ": rewardkit export --model "
            + outDir.resolve("final") + " --merge --output_dir DIR");
      }
    }
    return 0;
  }

  /** The reference log-probs a single prepared cache given as --dataset holds ({@code prepare --ref_model}), or null. */
  private static CachedReference cachedReference(TrainConfig c) throws IOException {
    if (c.dataset == null || c.dataset.size() != 1) return null;
    Path p = Path.of(c.dataset.get(0));
    return io.rewardkit.data.PreparedCache.isCache(p) ? CachedReference.read(p) : null;
  }

  /** One line on a LoRA policy's adapters (printed at the start). */
  static String loraLine(PolicyModel policy) {
    LoraAdapters ad = policy.adapters();
    LoraConfig lc = ad.config();
    long total = ad.numParameters();
    for (io.rewardkit.model.Parameter p : policy.decoder().parameters()) if (!p.hfName().equals("score.weight")) total += p.numel();
    if (!policy.tied()) total += policy.lmHeadWeight().numel();
    return String.format(Locale.ROOT, "lora: r %d, alpha %s, scaling %.4g%s, %s on %d layers: %,d trainable parameters of %,d;"
        + " the base and the LM head (%s) are frozen", lc.r(), num(lc.alpha()), lc.scaling(), lc.useRslora() ? " (rslora)" : "",
        String.join(",", lc.targetNames()), policy.config().numHiddenLayers(), ad.numParameters(), total,
        policy.tied() ? "tied" : "untied");
  }

  private static Map<String, Object> loraInfo(LoraAdapters ad) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("r", ad.config().r());
    m.put("lora_alpha", ad.config().alpha());
    m.put("use_rslora", ad.config().useRslora());
    m.put("target_modules", ad.config().targetNames());
    m.put("base_model_name_or_path", ad.baseModel());
    m.put("frozen", "base and LM head");
    return m;
  }

  private static String num(double v) { return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v); }

  /** The reference's identity as the stored log-probs name it. */
  static String referenceName(TrainConfig c) {
    return c.refModel != null ? c.refModel : c.modelNameOrPath != null ? c.modelNameOrPath
        : "random init of " + (c.initConfig != null ? c.initConfig : "the embedded config") + " seed " + c.seed;
  }

  /** A checkpoint's stored reference log-probs: of this data and reference, with the SHA-256 its state recorded. */
  private static ReferenceLogps reused(Path ckpt, String name, io.rewardkit.data.EncodedDataset ds, String ref, String sha)
      throws IOException {
    Path f = ckpt.resolve(name);
    if (!Files.isRegularFile(f)) throw new RewardKitException("--resume " + ckpt + ": no " + name + " (the reference log-probs of the run)");
    ReferenceLogps r = ReferenceLogps.load(f, ds, ref);
    if (sha != null && !sha.equals(r.sha256())) {
      throw new RewardKitException(f + ": reference log-probs differ from those the checkpoint recorded (SHA-256 "
          + sha.substring(0, 12) + ", file " + r.sha256().substring(0, 12) + ")");
    }
    return r;
  }

  /**
   * The policy's starting point (with --use_peft: the frozen base with fresh adapters), or the reference
   * (--ref_model, else the base: the same starting point), loaded frozen as it only runs forward.
   */
  private static PolicyModel start(TrainConfig c, ModelConfig mc, Backend backend, boolean reference, String refDir) {
    if (reference && refDir != null) return PolicyModel.fromPretrained(Path.of(refDir), backend, DType.F32, false);
    if (c.modelNameOrPath != null) {
      PolicyModel m = PolicyModel.fromPretrained(Path.of(c.modelNameOrPath), backend, DType.F32, !reference && !c.usePeft);
      if (!reference && c.usePeft) {
        try {
          m.attach(RunSetup.lora(c, m.decoder()));
        } catch (RuntimeException e) {
          m.close();
          throw e;
        }
      }
      return m;
    }
    if (mc.vocabSize() < 1) throw new RewardKitException("model config has no vocabulary");
    return PolicyModel.randomInit(mc, backend, DType.F32, c.seed);
  }
}
