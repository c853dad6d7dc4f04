package io.rewardkit.bench;

/**
 * Settings of one {@code rewardkit bench} run.
 *
 * @param shape         model dimensions
 * @param device        {@code cpu}, {@code cuda} or {@code auto}
 * @param profile       synthetic length distribution of the pairs (ignored when {@code data} is given)
 * @param data          preference dataset to take the pairs from, or null for synthetic pairs
 * @param tokenizer     tokenizer for {@code data} (tokenizer.json or its folder)
 * @param pairsPerStep  preference pairs per optimizer step (split into micro-batches by the token budget); 0: train's
 *                      steps, one micro-batch per step filled to the token budget by train's packer
 * @param tokenBudget   max packed tokens per micro-batch
 * @param maxLength     max tokens per pair (as one shared-prefix sequence); longer pairs are truncated
 * @param sharedPrefix  pack each pair as one [prompt | chosen | rejected] sequence (else two sequences)
 * @param warmupSteps   steps run before timing (JIT, allocator, cuBLAS heuristics)
 * @param steps         timed steps
 * @param seed          seeds the pairs and the model
 * @param peakTflops    dense peak to quote MFU against (GPU); 0 = from the device name
 * @param gemmSize      M=N=K of the ceiling GEMM
 * @param dataOptions   how {@code data} is read and encoded (keys, format, template, truncation)
 * @param threads       CPU threads as {@code train --threads} (0: all cores)
 * @param bf16          {@code --bf16}: the CPU linears' GEMMs in bf16 with fp32 accumulation (where the CPU has it)
 */
public record BenchConfig(
    ModelShape shape,
    String device,
    LengthProfile profile,
    java.nio.file.Path data,
    java.nio.file.Path tokenizer,
    int pairsPerStep,
    int tokenBudget,
    int maxLength,
    boolean sharedPrefix,
    int warmupSteps,
    int steps,
    long seed,
    double peakTflops,
    int gemmSize,
    io.rewardkit.data.DataOptions dataOptions,
    int threads,
    boolean bf16) {

  /** fp32 GEMMs on CPU (--bf16 false). */
  public BenchConfig(ModelShape shape, String device, LengthProfile profile, java.nio.file.Path data, java.nio.file.Path tokenizer,
      int pairsPerStep, int tokenBudget, int maxLength, boolean sharedPrefix, int warmupSteps, int steps, long seed,
      double peakTflops, int gemmSize, io.rewardkit.data.DataOptions dataOptions, int threads) {
    this(shape, device, profile, data, tokenizer, pairsPerStep, tokenBudget, maxLength, sharedPrefix, warmupSteps, steps, seed,
        peakTflops, gemmSize, dataOptions, threads, false);
  }

  /** All cores (--threads 0). */
  public BenchConfig(ModelShape shape, String device, LengthProfile profile, java.nio.file.Path data, java.nio.file.Path tokenizer,
      int pairsPerStep, int tokenBudget, int maxLength, boolean sharedPrefix, int warmupSteps, int steps, long seed,
      double peakTflops, int gemmSize, io.rewardkit.data.DataOptions dataOptions) {
    this(shape, device, profile, data, tokenizer, pairsPerStep, tokenBudget, maxLength, sharedPrefix, warmupSteps, steps, seed,
        peakTflops, gemmSize, dataOptions, 0);
  }

  /** Without data options: the registry's defaults at this max length, bad records skipped. */
  public BenchConfig(ModelShape shape, String device, LengthProfile profile, java.nio.file.Path data, java.nio.file.Path tokenizer,
      int pairsPerStep, int tokenBudget, int maxLength, boolean sharedPrefix, int warmupSteps, int steps, long seed,
      double peakTflops, int gemmSize) {
    this(shape, device, profile, data, tokenizer, pairsPerStep, tokenBudget, maxLength, sharedPrefix, warmupSteps, steps, seed,
        peakTflops, gemmSize, io.rewardkit.data.DataOptions.defaults().withOnBadRecord(io.rewardkit.data.DataOptions.OnBadRecord.SKIP));
  }

  public BenchConfig {
    if (pairsPerStep < 0) throw new IllegalArgumentException("--pairs_per_step must be >= 0, got " + pairsPerStep);
    if (tokenBudget <= 0) throw new IllegalArgumentException("--max_tokens_per_batch must be positive, got " + tokenBudget);
    if (maxLength < 8) throw new IllegalArgumentException("--max_length must be >= 8, got " + maxLength);
    if (!sharedPrefix && 2 * maxLength > tokenBudget || sharedPrefix && maxLength > tokenBudget) {
      throw new IllegalArgumentException("--max_length " + maxLength + " does not fit the --max_tokens_per_batch " + tokenBudget
          + (sharedPrefix ? "" : " (separate layout: a pair takes up to 2 x max_length tokens)"));
    }
    if (warmupSteps < 0 || steps <= 0) throw new IllegalArgumentException("--warmup must be >= 0 and --steps > 0");
    if (gemmSize < 64) throw new IllegalArgumentException("gemm size must be >= 64");
    if (threads < 0) throw new IllegalArgumentException("--threads must be >= 0, got " + threads);
    if (data != null && tokenizer == null) throw new IllegalArgumentException("--dataset needs --tokenizer");
  }

  /** What the pairs are: the length profile, or {@code dataset:<file>}. */
  public String pairsSource() { return data == null ? profile.id() : "dataset:" + data.getFileName(); }

  /** Whether steps are train's (one budget-filled micro-batch each) rather than a fixed number of pairs. */
  public boolean trainSteps() { return pairsPerStep == 0; }

  /** Pairs the run consumes: warm-up and timed steps each take {@link #pairsPerStep} fresh pairs (not for train's steps). */
  public int totalPairs() {
    if (trainSteps()) throw new IllegalStateException("train's steps take as many pairs as fill the budget (BenchEngine.plan)");
    return (warmupSteps + steps) * pairsPerStep;
  }
}
