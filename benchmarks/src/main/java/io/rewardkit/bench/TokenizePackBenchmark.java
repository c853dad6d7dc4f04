package io.rewardkit.bench;

import io.rewardkit.data.ByteTokenizer;
import io.rewardkit.data.DataOptions;
import io.rewardkit.data.DataPipeline;
import io.rewardkit.data.EncodedDataset;
import io.rewardkit.data.HfTokenizer;
import io.rewardkit.data.PackedBatch;
import io.rewardkit.data.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Tokenize + pack throughput of the data pipeline: the 2000 hh-rlhf pairs from ../shared, read
 * from JSONL, split into prompt/responses, tokenized with Qwen3 (DJL, batch API), packed into
 * 16384-token batches. The "tokens" counter is encoded tokens (prompt + chosen + rejected + 2
 * readouts per pair) per second. Without ../shared it falls back to a synthetic hh-style file and
 * the byte tokenizer (and says so). {@code input=parquet} reads the same records from Parquet.
 *
 * <p>Run: {@code benchmarks/run-jmh.sh TokenizePack} or
 * {@code java -cp ... org.openjdk.jmh.Main TokenizePack -f 1 -wi 2 -i 5 -w 1s -r 1s}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED", "-Xss16m"})
public class TokenizePackBenchmark {

  @Param({"qwen3"})
  public String tokenizer;

  @Param({"separate"})
  public String layout;

  /** jsonl: the file as is; parquet: the same records converted in setup (tools/jsonl_to_parquet.py, pyarrow). */
  @Param({"jsonl", "parquet"})
  public String input;

  private Tokenizer tok;
  private Path data;
  private Path tmp;
  private DataOptions options;
  private EncodedDataset encoded;

  /** Per-invocation counts, reported by JMH as rates (tokens/s, pairs/s). */
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  @State(Scope.Thread)
  public static class Counters {
    public long tokens;
    public long pairs;
    /** Process CPU milliseconds: tokens / (cpuMillis / 1000) is tokens per CPU-second, which a busy shared machine distorts less than wall time. */
    public long cpuMillis;
  }

  private static final com.sun.management.OperatingSystemMXBean OS =
      (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

  @Setup(Level.Trial)
  public void setup() throws IOException {
    Path shared = Path.of(System.getProperty("rewardkit.shared", "../shared"));
    Path pairs = shared.resolve("data/hh-rlhf-harmless/pairs-2000.jsonl");
    Path qwen3 = shared.resolve("fixtures/tokenizers/qwen3");
    if (Files.isRegularFile(pairs) && (tokenizer.equals("byte") || Files.isDirectory(qwen3))) {
      data = pairs;
      tok = tokenizer.equals("byte") ? new ByteTokenizer() : HfTokenizer.load(qwen3);
    } else {
      System.err.println("TokenizePackBenchmark: " + shared + " absent; synthetic hh-style data with the byte tokenizer");
      tmp = Files.createTempDirectory("tokpack");
      data = tmp.resolve("synthetic.jsonl");
      List<String> lines = new ArrayList<>();
      for (int i = 0; i < 2000; i++) {
        String prompt = "\\n\\nHuman: question number " + i + " " + "about things ".repeat(i % 40) + "\\n\\nAssistant:";
        lines.add("{\"chosen\": \"" + prompt + " a helpful answer " + "x".repeat(i % 90) + "\", \"rejected\": \""
            + prompt + " a worse answer " + "y".repeat(i % 70) + "\"}");
      }
      Files.write(data, lines);
      tok = new ByteTokenizer();
    }
    if (input.equals("parquet")) data = toParquet(data);
    options = DataOptions.defaults()
        .withOnBadRecord(DataOptions.OnBadRecord.SKIP)
        .withLayout(DataOptions.Layout.parse(layout))
        .withMaxTokensPerBatch(16384);
    encoded = DataPipeline.load(List.of(data), options, tok);
  }

  /** The same records as Parquet (snappy, 1000-row groups), written by pyarrow through the committed converter. */
  private Path toParquet(Path jsonl) throws IOException {
    if (tmp == null) tmp = Files.createTempDirectory("tokpack");
    Path out = tmp.resolve("pairs.parquet");
    Process p = new ProcessBuilder("python3", "tools/jsonl_to_parquet.py", jsonl.toString(), out.toString()).inheritIO().start();
    try {
      if (p.waitFor() != 0) throw new IOException("tools/jsonl_to_parquet.py failed (needs python3 with pyarrow)");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
    return out;
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    tok.close();
    if (tmp != null) {
      try (var files = Files.list(tmp)) {
        for (Path f : files.toList()) Files.deleteIfExists(f);
      }
      Files.deleteIfExists(tmp);
    }
  }

  /** Read + validate + tokenize + truncate + pack (epoch 0) the whole file. */
  @Benchmark
  public int tokenizePack(Counters c) {
    long cpu0 = OS.getProcessCpuTime();
    EncodedDataset ds = DataPipeline.load(List.of(data), options, tok);
    List<PackedBatch> batches = ds.batches(0);
    c.cpuMillis += (OS.getProcessCpuTime() - cpu0) / 1_000_000;
    c.tokens += ds.report().tokens();
    c.pairs += ds.size();
    return batches.size();
  }

  /** Packing alone (plan + batch build with readout asserts) of the already tokenized pairs. */
  @Benchmark
  public int packOnly(Counters c) {
    List<PackedBatch> batches = encoded.batches(1);
    c.tokens += encoded.report().tokens();
    c.pairs += encoded.size();
    return batches.size();
  }
}
