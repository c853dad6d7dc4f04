package io.rewardkit.data;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.data.DataOptions.Format;
import io.rewardkit.data.DataOptions.OnBadRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Entry point: files (or a prepared cache) to an {@link EncodedDataset}. Each input argument is
 * one dataset (a file, or a directory of .jsonl/.json[.gz] files). See package docs for usage.
 */
public final class DataPipeline {
  private DataPipeline() {}

  /** Progress callback for long loads (called after each chunk of records). */
  @FunctionalInterface
  public interface Progress {
    void update(String dataset, long recordsSeen, long pairsKept, long tokens);

    Progress NONE = (d, r, p, t) -> { };
  }

  /** Told about each record that did not become a pair, by record index (0-based, input order). */
  @FunctionalInterface
  public interface DropListener {
    void dropped(long recordIndex, String reason, String message);

    DropListener NONE = (i, r, m) -> { };
  }

  static final int CHUNK = 1024;

  public static EncodedDataset load(List<Path> inputs, DataOptions options, Tokenizer tok) {
    return load(inputs, options, tok, Progress.NONE);
  }

  /**
   * Reads, validates, tokenizes and truncates every input. With on_bad_record=fail the first bad
   * record throws a {@link BadRecordException} naming file:line(:column), field and reason.
   */
  public static EncodedDataset load(List<Path> inputs, DataOptions options, Tokenizer tok, Progress progress) {
    options.validate();
    if (inputs.isEmpty()) throw new RewardKitException("no input files given");
    List<List<Path>> files = new ArrayList<>();
    for (Path in : inputs) files.add(DatasetFiles.expand(in, options)); // all paths checked before any work
    try (Loader loader = new Loader(options, tok, progress, DropListener.NONE, true)) {
      return load(inputs, files, options, loader);
    }
  }

  private static EncodedDataset load(List<Path> inputs, List<List<Path>> files, DataOptions options, Loader loader) {
    JsonRecordReader reader = new JsonRecordReader(options.maxRecordBytes());
    RecordParser parser = new RecordParser(options);
    for (int d = 0; d < inputs.size(); d++) {
      DatasetStats stats = loader.newDataset(inputs.get(d).toString());
      int datasetId = d;
      for (Path f : files.get(d)) {
        String name = f.toString();
        Format[] format = {null};
        String sha = read(reader, f, name, parser.columns(), new JsonRecordReader.Sink() {
          @Override
          public void record(ObjectNode node, String location) {
            try {
              if (format[0] == null) {
                format[0] = parser.detect(node, location);
                stats.formats.put(name, format[0].cliName);
              }
              loader.accept(parser.parse(node, format[0], datasetId, location));
            } catch (BadRecordException e) {
              loader.bad(e);
            }
          }

          @Override
          public void bad(BadRecordException problem) { loader.bad(problem); }
        });
        stats.files.add(name);
        stats.fileSha256.add(sha);
      }
      loader.flush();
    }
    return loader.finish();
  }

  /**
   * One file through the reader its magic bytes call for; every reader feeds the same sink (format
   * detection, record parser, bad-record counting). Returns the SHA-256 of the file's bytes.
   */
  private static String read(JsonRecordReader json, Path f, String name, java.util.Set<String> columns, JsonRecordReader.Sink sink) {
    DatasetFiles.Kind kind = DatasetFiles.kind(f);
    switch (kind) {
      case JSON: return json.read(f, name, sink);
      case PARQUET: ParquetRecordReader.read(f, name, columns, sink); break;
      case ARROW_STREAM: ArrowRecordReader.read(f, name, false, columns, sink); break;
      case ARROW_FILE: ArrowRecordReader.read(f, name, true, columns, sink); break;
      default: throw new IllegalStateException(kind.name());
    }
    return Sha256.ofFile(f);
  }

  /** Receives raw rows (JSON objects) with their location, e.g. "file.parquet:row 3". */
  @FunctionalInterface
  public interface RowConsumer {
    void row(ObjectNode row, String location);
  }

  /**
   * The raw rows of one dataset argument (file, folder, save_to_disk folder or Hub-cache ORG/NAME,
   * with options' split and config), through the same readers as {@link #load}, for callers with
   * their own row schema (benchmarks). A bad row (malformed line, damaged file) throws.
   */
  public static void forEachRow(Path input, DataOptions options, RowConsumer consumer) {
    JsonRecordReader reader = new JsonRecordReader(options.maxRecordBytes());
    for (Path f : DatasetFiles.expand(input, options)) {
      read(reader, f, f.toString(), null, new JsonRecordReader.Sink() {
        @Override public void record(ObjectNode node, String location) { consumer.row(node, location); }
        @Override public void bad(BadRecordException problem) { throw problem; }
      });
    }
  }

  /** In-memory records as one dataset named {@code name}. */
  static EncodedDataset fromRecords(List<PreferenceRecord> records, Tokenizer tok, DataOptions options, String name,
      DropListener drops) {
    options.validate();
    try (Loader loader = new Loader(options, tok, Progress.NONE, drops, drops == DropListener.NONE)) {
      loader.newDataset(name);
      for (PreferenceRecord r : records) {
        loader.current.formats.putIfAbsent(name, r.isChat() ? "chat" : "text");
        loader.accept(r.withDatasetId(0));
      }
      loader.flush();
      return loader.finish();
    }
  }

  /**
   * A prepared cache directory (checked against options and tokenizer) if {@code inputs} is one,
   * else the raw files loaded.
   */
  public static EncodedDataset loadOrOpen(List<Path> inputs, DataOptions options, Tokenizer tok, Progress progress) {
    return loadOrOpen(inputs, options, tok, progress, DataOptions.NAMES);
  }

  /** As above; a prepared cache must match only the options named in {@code compare} (and the tokenizer). */
  public static EncodedDataset loadOrOpen(List<Path> inputs, DataOptions options, Tokenizer tok, Progress progress,
      java.util.Collection<String> compare) {
    if (inputs.size() == 1 && PreparedCache.isCache(inputs.get(0))) {
      return PreparedCache.open(inputs.get(0), options, tok, compare).dataset();
    }
    for (Path p : inputs) {
      if (PreparedCache.isCache(p)) throw new RewardKitException(p + " is a prepared cache: pass it alone, not with other inputs");
    }
    return load(inputs, options, tok, progress);
  }

  /** The chat template the options select for this tokenizer (null when there is none). */
  public static ChatTemplate template(DataOptions options, Tokenizer tok) {
    String t = options.chatTemplate();
    if (t.equalsIgnoreCase("none")) return null;
    if (t.equalsIgnoreCase("auto")) return ChatTemplate.of(tok);
    Path p = Path.of(t);
    if (!Files.isRegularFile(p)) throw new RewardKitException("--chat_template file not found: " + p);
    try {
      String src = Files.readString(p);
      if (p.getFileName().toString().endsWith(".json")) {
        var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(src).get("chat_template");
        if (node == null || !node.isTextual()) throw new RewardKitException(p + " has no string field chat_template");
        src = node.asText();
      }
      return new ChatTemplate(src, tok.bosToken(), tok.eosToken());
    } catch (java.io.IOException e) {
      throw new RewardKitException("cannot read --chat_template " + p + ": " + e.getMessage(), e);
    }
  }

  /**
   * Chunked, order-preserving encoding with per-dataset accounting. Chunk k is encoded on a worker
   * thread while the caller parses chunk k+1; results are applied strictly in input order.
   */
  private static final class Loader implements AutoCloseable {
    final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "rewardkit-encode");
      t.setDaemon(true);
      return t;
    });
    Future<List<PairEncoder.Result>> pending;
    long[] pendingIndex;
    final DataOptions o;
    final Tokenizer tok;
    final ChatTemplate template;
    final PairEncoder encoder;
    final Progress progress;
    final List<DatasetStats> stats = new ArrayList<>();
    final EncodedDataset.Builder builder = new EncodedDataset.Builder();
    final List<PreferenceRecord> chunk = new ArrayList<>(CHUNK);
    final long[] chunkIndex = new long[CHUNK];
    final DropListener drops;
    final boolean emptyIsError;
    DatasetStats current;
    long seen;
    long nextIndex; // record index of the next record to arrive (bad ones included)

    Loader(DataOptions o, Tokenizer tok, Progress progress, DropListener drops, boolean emptyIsError) {
      this.drops = drops;
      this.emptyIsError = emptyIsError;
      this.o = o;
      this.tok = tok;
      this.template = template(o, tok);
      this.encoder = new PairEncoder(o, tok, template);
      this.progress = progress;
    }

    DatasetStats newDataset(String name) {
      current = new DatasetStats(name);
      stats.add(current);
      return current;
    }

    void accept(PreferenceRecord r) {
      chunkIndex[chunk.size()] = nextIndex++;
      chunk.add(r);
      if (chunk.size() >= CHUNK) submit();
    }

    /** Hands the current chunk to the worker (after applying the previous one). */
    void submit() {
      if (chunk.isEmpty()) return;
      List<PreferenceRecord> c = new ArrayList<>(chunk);
      long[] idx = Arrays.copyOf(chunkIndex, c.size());
      chunk.clear();
      drain();
      pendingIndex = idx;
      pending = worker.submit(() -> encoder.encode(c));
    }

    /** Waits for the chunk in flight and applies its results. */
    void drain() {
      if (pending == null) return;
      List<PairEncoder.Result> results;
      try {
        results = pending.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new RewardKitException("interrupted while encoding", e);
      } catch (ExecutionException e) {
        if (e.getCause() instanceof RuntimeException re) throw re;
        if (e.getCause() instanceof Error err) throw err;
        throw new RewardKitException("encoding failed: " + e.getCause(), e.getCause());
      } finally {
        pending = null;
      }
      apply(results, pendingIndex);
    }

    @Override
    public void close() { worker.shutdownNow(); }

    void bad(BadRecordException e) {
      if (o.onBadRecord() == OnBadRecord.FAIL) {
        flush(); // an earlier record's error comes first
        throw e;
      }
      seen++;
      current.bad(e);
      drops.dropped(nextIndex++, e.reason(), e.getMessage());
    }

    /** Encodes everything accepted so far and applies it (in order). */
    void flush() {
      submit();
      drain();
    }

    private void apply(List<PairEncoder.Result> results, long[] index) {
      for (int i = 0; i < results.size(); i++) {
        PairEncoder.Result r = results.get(i);
        seen++;
        current.promptBoundaryViolations += r.boundaryViolations();
        if (r.bad() != null) {
          if (o.onBadRecord() == OnBadRecord.FAIL) throw r.bad();
          current.bad(r.bad());
          drops.dropped(index[i], r.bad().reason(), r.bad().getMessage());
          continue;
        }
        current.records++;
        if (r.pair() == null) {
          current.drop(r.dropReason(), r.dropMessage());
          drops.dropped(index[i], r.dropReason(), r.dropMessage());
          continue;
        }
        EncodedPair p = r.pair();
        builder.add(p, index[i]);
        current.kept++;
        current.tokens += p.prompt().length + p.chosen().length + p.rejected().length + 2;
        if (r.truncatedPrompt()) current.truncatedPrompt++;
        if (r.truncatedResponse()) current.truncatedResponse++;
      }
      progress.update(current.name(), seen, builder.size(), stats.stream().mapToLong(DatasetStats::tokens).sum());
    }

    EncodedDataset finish() {
      flush();
      DataReport report = new DataReport(stats, tok.hash(), template == null ? "none" : template.hash(), encoder.readoutToken());
      if (builder.size() == 0 && emptyIsError) {
        throw new RewardKitException("no usable pairs in the input (" + report.bad() + " bad, " + report.dropped()
            + " dropped):\n" + report.table());
      }
      return builder.build(o, encoder.readoutToken(), report);
    }
  }
}
