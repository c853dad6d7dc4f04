/**
 * Preference data to packed batches: read, validate, template, tokenize, truncate, pack, cache.
 *
 * <p>Typical use (the trainer):
 * <pre>{@code
 * DataOptions opts = DataOptions.defaults()
 *     .withLayout(DataOptions.Layout.SHARED_PREFIX)
 *     .withMaxLength(4096).withMaxTokensPerBatch(16384)
 *     .withOnBadRecord(DataOptions.OnBadRecord.SKIP);
 * try (Tokenizer tok = HfTokenizer.load(Path.of("models/qwen3"))) {       // or new ByteTokenizer()
 *   EncodedDataset all = DataPipeline.loadOrOpen(List.of(Path.of("data/train.jsonl")), opts, tok,
 *       DataPipeline.Progress.NONE);                                       // raw files or a prepared cache
 *   System.out.print(all.report().table());                               // kept / truncated / dropped / bad
 *   EncodedDataset.Split split = all.split(0.05);                          // seeded eval fraction
 *   for (int epoch = 0; epoch < 3; epoch++) {
 *     for (PackedBatch b : split.train().batches(epoch)) {                 // deterministic per (seed, epoch)
 *       // b.tokens(), b.positions(), b.cuSeqlens(), b.segmentIds(), b.readout(), b.chosen(), b.rejected() ...
 *     }
 *   }
 * }
 * // In-memory records (e.g. a synthetic task) go through the same rules:
 * EncodedDataset toy = EncodedDataset.fromRecords(
 *     List.of(PreferenceRecord.text("2+2=", "4", "5", 0f, "toy:0")), new ByteTokenizer(), opts);
 * // Prepare once, reuse many times (refused if options, tokenizer or template differ):
 * PreparedCache.write(Path.of("cache/train"), all, tok);
 * EncodedDataset again = PreparedCache.open(Path.of("cache/train"), opts, tok).dataset();
 * }</pre>
 *
 * <p>Formats ({@link io.rewardkit.data.DataOptions.Format}): hh-rlhf text pairs, prompt/chosen/rejected
 * strings, OpenAI message lists (TRL/XTuner), full conversations (open-instruct, UltraFeedback, Tulu,
 * Skywork), NeMo's rank format; detected per file from its first record unless given. Containers
 * (kind from magic bytes): JSONL, JSON array, gzip, Parquet ({@code ParquetRecordReader}), Arrow IPC
 * ({@code ArrowRecordReader}), directories, save_to_disk folders and Hub-cache datasets by ORG/NAME
 * ({@code DatasetFiles}); every reader hands JSON objects to the same {@code RecordParser}.
 *
 * <p>Guarantees: the prompt tokens of chosen and rejected are identical (chat data is checked
 * token-wise and violations counted); every response has exactly one readout token whose index is
 * computed when the batch is built and checked there, once (the {@link io.rewardkit.data.PackedBatch} constructor);
 * bad input is never silently dropped: it fails with file:line(:column) or is counted by reason.
 */
package io.rewardkit.data;
