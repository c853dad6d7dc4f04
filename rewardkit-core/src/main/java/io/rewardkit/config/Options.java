package io.rewardkit.config;

import static io.rewardkit.config.Cmd.BENCH;
import static io.rewardkit.config.Cmd.EVAL;
import static io.rewardkit.config.Cmd.EXPORT;
import static io.rewardkit.config.Cmd.PREPARE;
import static io.rewardkit.config.Cmd.SCORE;
import static io.rewardkit.config.Cmd.SERVE;
import static io.rewardkit.config.Cmd.TRAIN;

import io.rewardkit.UsageException;
import io.rewardkit.config.Opt.Type;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The option registry: every option of every command, declared once (name, type, default, help,
 * validation, commands). picocli options, the --config YAML, TrainConfig's defaults, DataOptions'
 * defaults and the names in prepared-cache and checkpoint manifests all come from this table.
 *
 * <p>Adding an option is one {@code def(...)} line below (plus reading it where it is used); the
 * help text, YAML key, defaults, validation and the option-table test follow.
 */
public final class Options {
  private Options() {}

  private static final Map<String, Opt> BY_NAME = new LinkedHashMap<>();

  private static Opt def(String name, Type type, String defaultText) {
    Opt o = new Opt(name, type, defaultText);
    if (BY_NAME.put(name, o) != null) throw new IllegalStateException("option declared twice: " + name);
    return o;
  }

  private static final Cmd[] ALL = Cmd.values();
  private static final Cmd[] DATA = {TRAIN, EVAL, PREPARE, BENCH};
  private static final Predicate<Object> NOT_BLANK = v -> !v.toString().isBlank();
  private static final Predicate<Object> FRACTION = v -> (Double) v >= 0 && (Double) v < 1;
  private static final Predicate<Object> FINITE_NON_NEGATIVE = v -> Double.isFinite((Double) v) && (Double) v >= 0;

  static {
    def("config", Type.PATH, null).on(ALL).mustExist().label("FILE.yaml")
        .help("YAML mapping of option: value (the names below without dashes); the command line wins.");

    // ---- model and inputs ----
    def("model_name_or_path", Type.PATH, null).on(TRAIN).mustExist().label("DIR").alias("pretrain")
        .help("HF model directory (config.json + safetensors) to start from.");
    def("init_config", Type.PATH, null).on(TRAIN).mustExist().label("config.json")
        .help("HF config.json: train a randomly initialised model of this shape.");
    def("model", Type.PATH, null).on(EVAL, SCORE, SERVE, EXPORT).mustExist().label("DIR")
        .help("Checkpoint or model directory, or a training output directory (its final model); also any HF "
            + "*ForSequenceClassification reward model (read at its last token, as transformers does).");
    def("tokenizer", Type.STRING, null).on(TRAIN, PREPARE, BENCH).mustExist().label("DIR|byte")
        .defaultHelp("the model's, else the prepared cache's, else byte")
        .help("tokenizer.json or its directory, or 'byte' for the built-in byte tokenizer.");
    // not mustExist: ORG/NAME names a dataset in the local Hugging Face cache (the reader says what it tried)
    def("dataset", Type.PATHS, null).on(DATA).alias("dataset_name").oldName("data")
        .help("Preference data: JSONL/JSON[.gz], Parquet or Arrow files, directories, save_to_disk folders or "
            + "ORG/NAME in the local Hugging Face cache (one dataset each), or one prepared cache.");
    def("eval_dataset", Type.PATHS, null).on(TRAIN)
        .help("Evaluation data, read like --dataset (per-dataset accuracy when several), or a prepared cache.");
    def("eval_split", Type.DOUBLE, "0").on(TRAIN, EVAL).label("FRACTION").check(FRACTION, "must be in [0, 1)")
        .help("Hold out this fraction of --dataset for evaluation (eval: evaluate only that held-out part).");
    def("output_dir", Type.PATH, "runs/default").on(TRAIN, PREPARE, EXPORT).label("DIR").alias("o", "save_path").oldName("output")
        .help("Directory to write: the run (metrics, checkpoints, report) or the prepared cache.");
    def("output_json", Type.PATH, null).on(EVAL, BENCH).label("FILE").oldName("json")
        .help("Also write the metrics as JSON to this file ('-': standard output).");
    def("input", Type.PATH, null).on(SCORE).mustExist().label("FILE.jsonl")
        .help("JSONL, one prompt per line: {\"prompt\": text or messages, \"responses\": [...]} or {\"prompt\", \"response\"}.");
    def("output", Type.PATH, null).on(SCORE).label("FILE.jsonl").defaultHelp("standard output")
        .help("Where the scored JSONL goes.");
    def("best_of_n", Type.BOOL, "false").on(SCORE)
        .help("Add the index and text of the highest-reward response per prompt.");

    // ---- data (stored in prepared caches and checkpoints) ----
    def("format", Type.STRING, "auto").on(DATA).data().choices("auto", "hh-rlhf", "text", "messages", "conversation", "ranked")
        .help("Record format of the input files (auto: detected per file; ranked: NeMo context + ranked completions).");
    def("prompt_key", Type.STRING, "prompt").on(DATA).data().check(NOT_BLANK, "must not be empty")
        .help("JSON field of the prompt (text or messages).");
    def("chosen_key", Type.STRING, "chosen").on(DATA).data().check(NOT_BLANK, "must not be empty")
        .help("JSON field of the preferred response.");
    def("rejected_key", Type.STRING, "rejected").on(DATA).data().check(NOT_BLANK, "must not be empty")
        .help("JSON field of the dispreferred response.");
    def("margin_key", Type.STRING, "margin").on(DATA).data()
        .help("JSON field of an optional numeric margin (absent: 0).");
    def("rating_key", Type.STRING, null).on(DATA).data().defaultHelp("off")
        .help("JSON field of a rating label mapped to a margin through --rating_margins.");
    def("rating_margins", Type.STRING, null).on(DATA).data().label("LABEL=M,...|llama2").defaultHelp("none")
        .help("Rating label to margin, or llama2's preset.");
    def("score_keys", Type.STRING, null).on(DATA).data().label("CHOSEN,REJECTED").defaultHelp("off")
        .check(v -> v.toString().matches("[^,]*[^,\\s][^,]*,[^,]*[^,\\s][^,]*"), "must be CHOSEN_FIELD,REJECTED_FIELD")
        .help("Numeric score fields whose difference is the margin (UltraFeedback: score_chosen,score_rejected).");
    def("dataset_split", Type.STRING, null).on(DATA).data().label("SPLIT").defaultHelp("train; eval --benchmark: the benchmark's")
        .help("Split of a Hub-cache or save_to_disk dataset.");
    def("dataset_config", Type.STRING, null).on(DATA).data().label("NAME").defaultHelp("the dataset's default")
        .help("Config (subset) of a Hub-cache dataset with several.");
    def("benchmark", Type.STRING, null).on(EVAL).choices("rewardbench", "rewardbench2").defaultHelp("off")
        .help("Score --dataset (a local copy of the benchmark: file, folder, or allenai/reward-bench[-2] in the "
            + "Hugging Face cache) by the benchmark's rules: per-subset table, sections (RewardBench), 1/k tie credit "
            + "and the Ties formula (RewardBench 2), and a length-only baseline.");
    def("chat_template", Type.STRING, "auto").on(TRAIN, PREPARE, BENCH).data().label("auto|none|FILE")
        .help("Chat template for message data: the tokenizer's (auto), none, or a .jinja/.json file.");
    def("reward_token", Type.STRING, null).on(TRAIN, PREPARE, BENCH).data().label("TOKEN").defaultHelp("the EOS token")
        .help("Readout token appended to every response (id or token string).");
    def("max_length", Type.INT, "1024").on(DATA).on(SCORE, SERVE).data().min(4).alias("max_len").oldName("max-length")
        .help("Longest sequence in tokens: prompt + response + readout.");
    def("truncation", Type.STRING, "drop").on(DATA).on(SCORE, SERVE).data().choices("drop", "prompt_left", "response_right")
        .help("Over-long pairs: drop them (score/serve: leave the response unscored, reason too_long), cut the "
            + "prompt from the left, or cut responses from the right.");
    def("layout", Type.STRING, "separate").on(TRAIN, PREPARE, BENCH).data().choices("separate", "shared_prefix")
        .help("Packing: chosen and rejected as separate sequences, or one [prompt | chosen | rejected] sequence.");
    def("max_tokens_per_batch", Type.INT, "8192").on(DATA).data().min(8).oldName("token-budget")
        .help("Token budget of one packed micro-batch (>= 2 x max_length); replaces a batch size in pairs.");
    def("seed", Type.LONG, "42").on(DATA).data()
        .help("Seed of initialisation, shuffling, packing and the eval split.");
    def("on_bad_record", Type.STRING, "fail").on(TRAIN, EVAL, PREPARE).data().choices("fail", "skip")
        .help("Stop at the first bad record, or skip and count bad records.");
    def("max_record_bytes", Type.INT, Integer.toString(16 << 20)).on(TRAIN, EVAL, PREPARE).data().min(64)
        .help("Largest JSON record accepted, in bytes.");

    // ---- optimisation ----
    def("gradient_accumulation_steps", Type.INT, "1").on(TRAIN).min(1)
        .help("Micro-batches per optimizer step.");
    def("learning_rate", Type.DOUBLE, "1e-5").on(TRAIN).label("LR").check(FINITE_NON_NEGATIVE, "must be a finite number >= 0")
        .help("Peak learning rate.");
    def("lr_scheduler_type", Type.STRING, "linear").on(TRAIN)
        .choices("constant", "constant_with_warmup", "linear", "cosine", "cosine_with_min_lr")
        .help("Learning-rate schedule after warmup.");
    def("warmup_ratio", Type.DOUBLE, "0").on(TRAIN).check(FRACTION, "must be in [0, 1)").alias("lr_warmup_ratio")
        .help("Warmup as a fraction of the total steps.");
    def("warmup_steps", Type.INT, "0").on(TRAIN).min(0)
        .help("Warmup steps (overrides --warmup_ratio when > 0).");
    def("min_lr_rate", Type.DOUBLE, "0.1").on(TRAIN).check(v -> (Double) v >= 0 && (Double) v <= 1, "must be in [0, 1]")
        .help("cosine_with_min_lr: floor as a fraction of the peak.");
    def("weight_decay", Type.DOUBLE, "0").on(TRAIN).check(FINITE_NON_NEGATIVE, "must be a finite number >= 0").alias("l2")
        .help("Decoupled weight decay; never on norms and biases.");
    def("adam_beta1", Type.DOUBLE, "0.9").on(TRAIN).check(FRACTION, "must be in [0, 1)").help("AdamW beta1.");
    def("adam_beta2", Type.DOUBLE, "0.999").on(TRAIN).check(FRACTION, "must be in [0, 1)").help("AdamW beta2.");
    def("adam_epsilon", Type.DOUBLE, "1e-8").on(TRAIN).check(v -> (Double) v > 0, "must be > 0").help("AdamW epsilon.");
    def("max_grad_norm", Type.DOUBLE, "1.0").on(TRAIN)
        .help("Global-norm clipping (<= 0: off); grad_norm is logged before clipping.");
    def("num_train_epochs", Type.DOUBLE, "1").on(TRAIN).resumable().label("E").alias("max_epochs")
        .help("Epochs over the training set.");
    def("max_steps", Type.INT, "-1").on(TRAIN).resumable()
        .help("Optimizer steps (> 0 overrides --num_train_epochs).");
    def("gradient_checkpointing", Type.BOOL, "false").on(TRAIN).resumable()
        .help("Keep only each decoder layer's input in forward and recompute the layer in backward: activation "
            + "memory of about one layer instead of all, for about one more forward pass; gradients are identical.");
    def("dry_run", Type.BOOL, "false").on(TRAIN)
        .help("Print the memory plan (weights, gradients, optimizer state, masters, activations, workspace; full, LoRA "
            + "and QLoRA, with and without checkpointing) and whether it fits this device, then exit without training "
            + "(exit 1 when the run would not fit).");

    // ---- loss ----
    def("loss_type", Type.STRING, "ranking").on(TRAIN).choices("ranking", "focal")
        .help("Bradley-Terry ranking loss, or InternLM2's focal ranking loss.");
    def("focal_gamma", Type.DOUBLE, "2").on(TRAIN).min(0).help("Focal loss exponent.");
    def("penalty_type", Type.STRING, "none").on(TRAIN).choices("none", "log_barrier", "l2").help("Reward penalty.");
    def("penalty_weight", Type.DOUBLE, "0").on(TRAIN).help("Weight of the penalty term.");
    def("penalty_lower", Type.DOUBLE, "-5").on(TRAIN).help("Lower bound of the log-barrier.");
    def("penalty_upper", Type.DOUBLE, "5").on(TRAIN).help("Upper bound of the log-barrier.");
    def("center_rewards_coefficient", Type.DOUBLE, "0").on(TRAIN)
        .help("Reward centering: adds C * mean((r_chosen + r_rejected)^2).");

    // ---- direct preference optimisation (--task other than reward): TRL's DPOConfig / CPOConfig / KTOConfig names ----
    def("task", Type.STRING, "reward").on(TRAIN).choices("reward", "dpo", "ipo", "cpo", "simpo", "orpo", "kto")
        .help("reward: a reward model (score head). dpo, ipo, cpo, simpo, orpo, kto: train the model itself as a "
            + "policy on the pairs (a *ForCausalLM is written).");
    def("beta", Type.DOUBLE, "0.1").on(TRAIN).check(v -> (Double) v > 0, "must be > 0")
        .help("Preference tasks: β (DPO/IPO/KTO: deviation from the reference; CPO/SimPO: reward scale; ORPO: λ).");
    def("label_smoothing", Type.DOUBLE, "0").on(TRAIN).check(v -> (Double) v >= 0 && (Double) v < 0.5, "must be in [0, 0.5)")
        .help("dpo, cpo, simpo: ε of the conservative loss -(1-ε) log σ(x) - ε log σ(-x).");
    def("rpo_alpha", Type.DOUBLE, "0").on(TRAIN).min(0)
        .help("dpo: weight of the NLL of the chosen responses (RPO; TRL 1.13: loss_type [sigmoid, sft]).");
    def("cpo_alpha", Type.DOUBLE, "1").on(TRAIN).min(0).help("cpo, simpo: weight of the chosen responses' NLL.");
    def("simpo_gamma", Type.DOUBLE, "0.5").on(TRAIN).help("simpo: target reward margin γ.");
    def("desirable_weight", Type.DOUBLE, "1").on(TRAIN).min(0).help("kto: weight of desirable (chosen) responses.");
    def("undesirable_weight", Type.DOUBLE, "1").on(TRAIN).min(0).help("kto: weight of undesirable (rejected) responses.");
    def("ref_model", Type.PATH, null).on(TRAIN, PREPARE).mustExist().label("DIR").defaultHelp("the initial policy")
        .help("dpo, ipo, kto: the reference model (HF causal LM); its log-probs are computed once at the start. "
            + "prepare: compute them into the cache (train --dataset <cache> then uses them; a different --ref_model is refused).");

    // ---- bookkeeping ----
    // ---- LoRA (TRL's ModelConfig / PEFT's LoraConfig names) ----
    def("use_peft", Type.BOOL, "false").on(TRAIN, BENCH)
        .help("Train LoRA adapters on a frozen --model_name_or_path and the score head in full; checkpoints and final/ "
            + "are PEFT adapter directories (adapter_config.json, adapter_model.safetensors with the head). With --task: "
            + "adapters only (LM head frozen), a CAUSAL_LM adapter. bench: time LoRA steps.");
    def("lora_r", Type.INT, "16").on(TRAIN, BENCH).min(1).label("R").help("LoRA rank (with --use_peft).");
    def("lora_alpha", Type.INT, "32").on(TRAIN, BENCH).min(1)
        .help("LoRA alpha: the low-rank path is scaled by lora_alpha / lora_r (lora_alpha / sqrt(lora_r) with --use_rslora).");
    def("lora_dropout", Type.DOUBLE, "0").on(TRAIN, BENCH)
        .check(v -> (Double) v == 0, "only 0 is supported (reward models train without dropout)")
        .help("Dropout on the LoRA input; only 0 (reward models train without dropout).");
    def("lora_target_modules", Type.STRING, "all-linear").on(TRAIN, BENCH).label("all-linear|NAMES")
        .check(v -> LoraTargets.valid(v.toString()), "must be all-linear or comma-separated names out of "
            + String.join(",", LoraTargets.NAMES))
        .help("Linear modules that get adapters: all-linear (every linear of the decoder layers, as PEFT) or e.g. q_proj,v_proj.");
    def("use_rslora", Type.BOOL, "false").on(TRAIN, BENCH).help("rsLoRA: scale by lora_alpha / sqrt(lora_r) instead of lora_alpha / lora_r.");
    // ---- QLoRA (TRL's ModelConfig / transformers' BitsAndBytesConfig names) ----
    def("load_in_4bit", Type.BOOL, "false").on(TRAIN)
        .help("QLoRA (with --use_peft): store every decoder linear of the frozen base as 4-bit NF4 with double "
            + "quantisation (bitsandbytes' format, blocks of 64), dequantised one layer at a time for the GEMM; the "
            + "adapters, score head, embeddings and norms stay in the compute dtype.");
    def("bnb_4bit_quant_type", Type.STRING, "nf4").on(TRAIN).label("nf4")
        .check(v -> v.equals("nf4"), "only nf4 is implemented (not fp4)")
        .help("4-bit data type of --load_in_4bit: nf4 (the only one implemented).");
    def("bnb_4bit_use_double_quant", Type.BOOL, "true").on(TRAIN)
        .check(v -> (Boolean) v, "only true is implemented (the per-64 absmax values are themselves 8-bit quantised)")
        .help("Double quantisation of --load_in_4bit's block scales (bitsandbytes' compress_statistics); only true.");
    def("merge_lora", Type.BOOL, "false").on(TRAIN)
        .help("With --use_peft: after training also write <output_dir>/final-merged, the adapter merged onto the "
            + "original --model_name_or_path weights (re-read from disk, never the 4-bit copy) as a full "
            + "*ForSequenceClassification checkpoint, byte for byte what `rewardkit export --merge` writes from final/.");

    def("logging_steps", Type.INT, "10").on(TRAIN).resumable().min(1).help("Log metrics every N optimizer steps.");
    def("eval_steps", Type.INT, "0").on(TRAIN).resumable().min(0).help("Evaluate every N steps (0: at the end only).");
    def("save_steps", Type.INT, "500").on(TRAIN).resumable().min(0).help("Save a checkpoint every N steps (0: at the end only).");
    def("save_total_limit", Type.INT, "2").on(TRAIN).resumable().help("Checkpoints kept (<= 0: all).");
    def("device", Type.STRING, "cpu").on(TRAIN, EVAL, SCORE, SERVE, BENCH).choices("cpu", "cuda", "auto")
        .help("Compute backend, chosen once at start.");
    def("bf16", Type.BOOL, "false").on(TRAIN, EVAL, SCORE, SERVE, BENCH)
        .help("CPU: the decoder linears' GEMMs (forward, dX, dW) in bf16 with fp32 accumulation and fp32 master "
            + "weights, as on the GPU, where the CPU has AVX512-BF16 (else a warning and fp32); everything else stays "
            + "fp32. CUDA always computes in bf16, so --bf16 false with --device cuda is refused.");
    def("threads", Type.INT, "0").on(TRAIN, EVAL, SCORE, SERVE, BENCH).resumable().min(0)
        .help("CPU threads (0: all cores; the embedded default run uses 1, serve 1 for models under 5M "
            + "non-embedding parameters, whose kernels are shorter than a thread barrier).");
    def("resume", Type.STRING, null).on(TRAIN).label("CHECKPOINT").optionalValue("latest").alias("resume_from_checkpoint").defaultHelp("off")
        .help("Continue the run in --output_dir from its newest intact checkpoint (no value, or true), or from the "
            + "given checkpoint, with the run's own options; only --max_steps, --num_train_epochs, --logging_steps, "
            + "--eval_steps, --save_steps, --save_total_limit, --report, --gradient_checkpointing and --threads may be changed.");
    def("save_dtype", Type.STRING, "auto").on(TRAIN, EXPORT).choices("auto", "float32", "bfloat16")
        .help("Dtype of saved weights (auto: the input checkpoint's; float32 without one and for LoRA adapters).");
    def("overwrite_output_dir", Type.BOOL, "false").on(TRAIN)
        .help("Replace a run already in --output_dir; the old run is kept until the new one has saved its first checkpoint.");
    def("report", Type.BOOL, "true").on(TRAIN).resumable().help("Write the PNG/HTML report at the end.");
    def("synthetic_train_pairs", Type.INT, "24000").on(TRAIN).min(1).help("Embedded default run only: training pairs.");
    def("synthetic_eval_pairs", Type.INT, "500").on(TRAIN).min(1).help("Embedded default run only: eval pairs.");

    // ---- serve ----
    def("host", Type.STRING, "127.0.0.1").on(SERVE).label("ADDR")
        .help("Address to bind (127.0.0.1: this machine only; 0.0.0.0 for all interfaces).");
    def("port", Type.INT, "5000").on(SERVE).check(v -> (Integer) v >= 0 && (Integer) v <= 65535, "must be in [0, 65535]")
        .help("TCP port (0 picks a free one, printed at start).");
    def("api_key", Type.STRING, null).on(SERVE).label("KEY|env").defaultHelp("no auth")
        .help("Require 'Authorization: Bearer KEY' (all endpoints but /health, /ready); 'env' reads the key from "
            + "$REWARDKIT_API_KEY (keeps it out of the process list).");
    def("max_batch_tokens", Type.INT, null).on(SERVE).min(1).defaultHelp("the checkpoint's max_tokens_per_batch")
        .help("Token budget of one forward pass (sequences are packed singly, so >= --max_length).");
    def("max_wait_ms", Type.INT, "5").on(SERVE).label("MS").min(0).help("Longest a request waits for batch companions.");
    def("max_queue_tokens", Type.LONG, null).on(SERVE).min(1).defaultHelp("16 x --max_batch_tokens")
        .help("Tokens that may wait; more gets 429 + Retry-After.");
    def("max_body_bytes", Type.LONG, Long.toString(8L << 20)).on(SERVE).min(64).help("Largest request body (413 above).");
    def("max_texts", Type.INT, "1024").on(SERVE).min(1).help("Most queries or responses in one request (413 above).");
    def("max_text_chars", Type.INT, Integer.toString(1 << 20)).on(SERVE).min(1)
        .help("Longest single text in characters (413 above).");
    def("max_connections", Type.INT, "1024").on(SERVE).min(1).help("Open connections at most; more wait to be accepted.");
    def("request_timeout_s", Type.DOUBLE, "60").on(SERVE).label("S").check(v -> (Double) v > 0, "must be > 0")
        .help("A request not answered in time gets 504.");
    def("shutdown_timeout_s", Type.DOUBLE, "30").on(SERVE).label("S").min(0)
        .help("On SIGTERM, how long in-flight requests may take.");

    // ---- export ----
    def("merge", Type.BOOL, "false").on(EXPORT)
        .help("Merge the LoRA adapter of --model into its base (W + scaling * B A) and write a full *ForSequenceClassification checkpoint.");

    // ---- bench ----
    def("shape", Type.STRING, "Qwen2.5-0.5B").on(BENCH).label("NAME[:nL]|CONFIG.json")
        .help("Model shape: Qwen2.5-0.5B, Qwen2.5-1.5B, Qwen2.5-7B, Llama-3-8B; :<n>L changes the layer count; or an HF "
            + "config.json (as train --init_config).");
    def("lengths", Type.STRING, "hh-rlhf").on(BENCH).choices("hh-rlhf", "ultrafeedback")
        .help("Synthetic length distribution (without --dataset): short or long responses.");
    def("pairs_per_step", Type.INT, "0").on(BENCH).min(0).oldName("pairs-per-step")
        .help("Pairs per optimizer step; 0: train's steps, one micro-batch per step filled to --max_tokens_per_batch by "
            + "train's packer (gradient accumulation 1, as train runs by default).");
    def("warmup", Type.INT, "3").on(BENCH).min(0).help("Untimed warm-up steps (JIT, allocator).");
    def("steps", Type.INT, "10").on(BENCH).min(1).help("Timed steps (the report gives their median, IQR, min and max).");
    def("peak_tflops", Type.DOUBLE, "0").on(BENCH).min(0).oldName("peak-tflops")
        .help("Dense bf16 peak for MFU on GPU (0: look up the device name).");
    def("gemm_size", Type.INT, "2048").on(BENCH).min(64).oldName("gemm-size").help("M=N=K of the ceiling GEMM.");
    def("export_peer", Type.PATH, null).on(BENCH).label("DIR").oldName("export-peer")
        .help("Write config.json, pairs.jsonl and run.json for the PyTorch peer into DIR, then exit.");
  }

  /** Options required on a command (a usage error when missing). */
  private static final Map<Cmd, List<String>> REQUIRED = Map.of(
      EVAL, List.of("model", "dataset"),
      SCORE, List.of("model", "input"),
      SERVE, List.of("model"),
      PREPARE, List.of("dataset", "output_dir"),
      EXPORT, List.of("model", "output_dir"));

  /** Rules between options; each applies to the commands that take all of its options. */
  private record Rule(List<String> names, Predicate<OptionValues> ok, String message) {}

  private static final List<Rule> RULES = List.of(
      new Rule(List.of("max_length", "max_tokens_per_batch"),
          v -> (long) v.getInt("max_tokens_per_batch") >= 2L * v.getInt("max_length"),
          "--max_tokens_per_batch must be >= 2 x --max_length so that every kept pair fits in one batch"),
      new Rule(List.of("chosen_key", "rejected_key"), v -> !v.getString("chosen_key").equals(v.getString("rejected_key")),
          "--chosen_key and --rejected_key must differ"),
      new Rule(List.of("rating_key", "rating_margins"), v -> v.get("rating_key") == null || v.get("rating_margins") != null,
          "--rating_key needs --rating_margins (label=margin,... or llama2)"),
      new Rule(List.of("model_name_or_path", "init_config"), v -> v.get("model_name_or_path") == null || v.get("init_config") == null,
          "give --model_name_or_path or --init_config, not both"),
      new Rule(List.of("model_name_or_path", "init_config", "dataset"),
          v -> !v.getList("dataset").isEmpty() || v.get("model_name_or_path") == null && v.get("init_config") == null,
          "--dataset is required with a model"),
      new Rule(List.of("max_steps", "num_train_epochs"), v -> v.getInt("max_steps") > 0 || v.getDouble("num_train_epochs") > 0,
          "--num_train_epochs must be > 0 (or set --max_steps)"),
      new Rule(List.of("resume", "overwrite_output_dir"),
          v -> !v.getBool("overwrite_output_dir") || v.get("resume") == null || "false".equals(v.get("resume")),
          "give --resume or --overwrite_output_dir, not both"),
      new Rule(List.of("use_peft", "model_name_or_path"), v -> !v.getBool("use_peft") || v.get("model_name_or_path") != null,
          "--use_peft trains adapters for a base model on disk: give --model_name_or_path (the adapter refers to it)"),
      new Rule(List.of("load_in_4bit", "use_peft"), v -> !v.getBool("load_in_4bit") || v.getBool("use_peft"),
          "--load_in_4bit quantises the frozen base of a LoRA run: give --use_peft with it (QLoRA), or drop --load_in_4bit"),
      new Rule(List.of("merge_lora", "use_peft"), v -> !v.getBool("merge_lora") || v.getBool("use_peft"),
          "--merge_lora merges LoRA adapters: give --use_peft with it, or drop --merge_lora"),
      new Rule(List.of("load_in_4bit", "task"), v -> !v.getBool("load_in_4bit") || v.getString("task").equals("reward"),
          "--load_in_4bit (QLoRA) is implemented for reward models only (--task reward), not for policies: drop it with --task"),
      new Rule(List.of("merge_lora", "task"), v -> !v.getBool("merge_lora") || v.getString("task").equals("reward"),
          "--merge_lora is implemented for reward models only (--task reward): for a policy adapter run"
              + " `rewardkit export --model <output_dir>/final --merge --output_dir DIR`"),
      new Rule(List.of("penalty_lower", "penalty_upper"), v -> v.getDouble("penalty_lower") < v.getDouble("penalty_upper"),
          "--penalty_lower must be < --penalty_upper"));

  /**
   * Other tools' options that RewardKit does not take, with what to use instead. Accepted on the
   * command line and in YAML so that a TRL / OpenRLHF config gives these lines instead of an error.
   */
  public static final Map<String, String> FOREIGN = foreign();

  private static Map<String, String> foreign() {
    Map<String, String> m = new LinkedHashMap<>();
    String batch = "RewardKit packs pairs into token-budget batches: use --max_tokens_per_batch "
        + "(about 2 x pairs x typical sequence length; pairs per batch vary with length)";
    m.put("per_device_train_batch_size", batch);
    m.put("per_device_eval_batch_size", batch);
    m.put("train_batch_size", batch);
    m.put("micro_train_batch_size", batch);
    m.put("auto_find_batch_size", batch);
    m.put("report_to", "RewardKit always writes metrics.jsonl and report/index.html to --output_dir "
        + "(--report false skips the report); no wandb/tensorboard integration");
    m.put("logging_dir", "metrics go to <output_dir>/metrics.jsonl");
    m.put("use_wandb", "RewardKit writes metrics.jsonl and report/index.html to --output_dir");
    m.put("fp16", "not available: CPU trains in fp32 (bf16 GEMMs with --bf16 on AVX512-BF16 CPUs), CUDA in bf16 with fp32 master weights (--device)");
    m.put("tf32", "not selectable: matrix precision follows the backend (--device)");
    m.put("eval_strategy", "evaluation runs every --eval_steps steps (0: at the end only)");
    m.put("evaluation_strategy", "evaluation runs every --eval_steps steps (0: at the end only)");
    m.put("save_strategy", "checkpoints are saved every --save_steps steps (0: at the end only)");
    m.put("logging_strategy", "metrics are logged every --logging_steps steps");
    m.put("disable_dropout", "RewardKit's models have no dropout");
    m.put("remove_unused_columns", "records are read by --prompt_key/--chosen_key/--rejected_key; other fields are ignored");
    m.put("dataset_num_proc", "tokenization runs on a background thread beside parsing");
    m.put("dataloader_num_workers", "tokenization runs on a background thread beside parsing");
    m.put("zero_stage", "single-device training (no DeepSpeed)");
    m.put("flash_attn", "attention is always RewardKit's fused varlen kernel");
    m.put("packing_samples", "pairs are always packed (--max_tokens_per_batch, --layout)");
    m.put("apply_chat_template", "--chat_template auto (the default) applies the tokenizer's template to message data");
    m.put("push_to_hub", "not available: final/ is an HF checkpoint directory to upload yourself");
    return Collections.unmodifiableMap(m);
  }

  // ---- lookups ----

  /** Every option, in declaration (help) order. */
  public static List<Opt> all() { return List.copyOf(BY_NAME.values()); }

  /** The options a command takes, in help order. */
  public static List<Opt> of(Cmd cmd) {
    List<Opt> out = new ArrayList<>();
    for (Opt o : BY_NAME.values()) if (o.takes(cmd)) out.add(o);
    return out;
  }

  public static Opt get(String name) {
    Opt o = BY_NAME.get(name);
    if (o == null) throw new IllegalArgumentException("no option " + name);
    return o;
  }

  /** The options a --resume may change (applied and logged); every other one must match the run's. */
  public static Set<String> resumable() {
    Set<String> s = new java.util.LinkedHashSet<>();
    for (Opt o : BY_NAME.values()) if (o.isResumable()) s.add(o.name());
    return Collections.unmodifiableSet(s);
  }

  /** Where a command's data options take their defaults when not the table's (eval: the model's). */
  private static final Map<Cmd, String> DATA_DEFAULTS_FROM = Map.of(EVAL, "the checkpoint's", SCORE, "the checkpoint's",
      SERVE, "the checkpoint's");

  /** The help line of an option on a command: its help, then "(default: ...)" or "(required)". */
  public static String description(Cmd cmd, Opt o) {
    String d = o.description();
    String tail = required(cmd, o.name()) ? "(required)"
        : o.isData() && DATA_DEFAULTS_FROM.containsKey(cmd) ? "(default: " + DATA_DEFAULTS_FROM.get(cmd) + ")" : null;
    return tail == null ? d : d.replaceAll(" \\(default: [^)]*\\)$", "") + " " + tail;
  }

  public static boolean required(Cmd cmd, String name) { return REQUIRED.getOrDefault(cmd, List.of()).contains(name); }

  /** What a name means on a command: one of its options, an alias, an old spelling, or null. */
  public record Resolved(Opt opt, boolean old) {}

  public static Resolved lookup(Cmd cmd, String name) {
    Opt direct = BY_NAME.get(name);
    if (direct != null && direct.takes(cmd)) return new Resolved(direct, false);
    for (Opt o : of(cmd)) {
      if (o.aliases().contains(name)) return new Resolved(o, false);
      // an old spelling never shadows a real option of the command (score's --output)
      if (o.oldNames().contains(name) && (direct == null || !direct.takes(cmd))) return new Resolved(o, true);
    }
    return null;
  }

  /** The names a command accepts for an option: its own, its aliases, its old spellings. */
  public static List<String> names(Cmd cmd, Opt o) {
    List<String> out = new ArrayList<>();
    out.add(o.name());
    out.addAll(o.aliases());
    for (String old : o.oldNames()) {
      Opt other = BY_NAME.get(old);
      if (other == null || !other.takes(cmd)) out.add(old);
    }
    return out;
  }

  /** Checks what one option cannot: required options and the rules between options. */
  public static void validate(OptionValues v) {
    for (String name : REQUIRED.getOrDefault(v.cmd(), List.of())) {
      Object x = v.get(name);
      if (!v.given(name) || x == null || x instanceof List<?> l && l.isEmpty()) {
        throw new UsageException(v.cmd().cliName() + " needs --" + name);
      }
    }
    check(RULES, v);
  }

  /**
   * Rules about what the user gave, not defaults: checked where that is known (the command line with --config,
   * {@link #validateGiven}); a saved or rebuilt config marks every option given.
   */
  private static final List<Rule> GIVEN_RULES = List.of(
      new Rule(List.of("bf16", "device"), v -> !(v.given("bf16") && !v.getBool("bf16") && v.getString("device").equals("cuda")),
          "--bf16 false is not available with --device cuda: the CUDA backend always computes in bf16 with fp32 master "
              + "weights (fp32 GEMMs: --device cpu)"));

  /** The rules about given options (see {@link #GIVEN_RULES}); call with the values as the user gave them. */
  public static void validateGiven(OptionValues v) {
    check(GIVEN_RULES, v);
  }

  private static void check(List<Rule> rules, OptionValues v) {
    for (Rule r : rules) {
      boolean applies = true;
      for (String n : r.names()) applies &= get(n).takes(v.cmd());
      if (applies && !r.ok().test(v)) {
        StringBuilder got = new StringBuilder();
        for (String n : r.names()) {
          if (v.get(n) != null) got.append(got.length() == 0 ? " (got " : ", ").append(n).append(' ').append(Opt.show(v.get(n)));
        }
        throw new UsageException(r.message() + (got.length() == 0 ? "" : got + ")"));
      }
    }
  }

  /** The names a command takes, for did-you-mean suggestions. */
  static Set<String> namesOf(Cmd cmd) {
    Set<String> s = new java.util.TreeSet<>();
    for (Opt o : of(cmd)) s.addAll(names(cmd, o));
    return s;
  }

  /** The closest known name within a small edit distance, or null. */
  public static String suggest(Cmd cmd, String name) {
    String best = null;
    int bestD = Math.max(2, name.length() / 4) + 1;
    for (String n : namesOf(cmd)) {
      int d = distance(name, n);
      if (d < bestD) {
        bestD = d;
        best = n;
      }
    }
    return best;
  }

  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) prev[j] = j;
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        cur[j] = Math.min(Math.min(cur[j - 1], prev[j]) + 1, prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
