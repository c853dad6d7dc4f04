package io.rewardkit.data;

import static io.rewardkit.data.DataTestSupport.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.RewardKitException;
import io.rewardkit.cli.RewardKitCli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Cache round trip, byte-identical determinism, option checks, atomic writes, and the prepare CLI. */
class PreparedCacheTest {
  @TempDir Path tmp;

  private Path data() throws Exception {
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      lines.add("{\"prompt\": \"question " + i + " " + "x".repeat(i % 50) + "\", \"chosen\": \"good " + i
          + "\", \"rejected\": \"bad " + "y".repeat(i % 30) + "\", \"margin\": " + (i % 4) + "}");
    }
    return write(tmp, "d.jsonl", lines.toArray(new String[0]));
  }

  private static DataOptions opts() { return DataOptions.defaults().withMaxLength(512).withMaxTokensPerBatch(2048); }

  @Test
  void roundTripGivesTheSameBatches() throws Exception {
    EncodedDataset ds = DataPipeline.load(List.of(data()), opts(), new ByteTokenizer());
    Path cache = tmp.resolve("cache");
    PreparedCache.write(cache, ds, new ByteTokenizer());
    PreparedCache pc = PreparedCache.open(cache, opts(), new ByteTokenizer());
    EncodedDataset back = pc.dataset();
    assertEquals(ds.size(), back.size());
    for (int epoch = 0; epoch < 2; epoch++) {
      List<PackedBatch> a = ds.batches(epoch), b = back.batches(epoch);
      assertEquals(a.size(), b.size());
      for (int i = 0; i < a.size(); i++) {
        assertArrayEquals(a.get(i).tokens(), b.get(i).tokens());
        assertArrayEquals(a.get(i).readout(), b.get(i).readout());
        assertArrayEquals(a.get(i).margins(), b.get(i).margins());
      }
    }
    assertEquals(ds.report().kept(), back.report().kept());
    assertTrue(DataPipeline.loadOrOpen(List.of(cache), opts(), new ByteTokenizer(), DataPipeline.Progress.NONE).size() == ds.size());
  }

  @Test
  void sameInputsAndSeedGiveByteIdenticalCaches() throws Exception {
    Path in = data();
    Path a = tmp.resolve("a"), b = tmp.resolve("b");
    PreparedCache.write(a, DataPipeline.load(List.of(in), opts(), new ByteTokenizer()), new ByteTokenizer());
    PreparedCache.write(b, DataPipeline.load(List.of(in), opts(), new ByteTokenizer()), new ByteTokenizer());
    assertArrayEquals(Files.readAllBytes(a.resolve(PreparedCache.DATA)), Files.readAllBytes(b.resolve(PreparedCache.DATA)));
    assertArrayEquals(Files.readAllBytes(a.resolve(PreparedCache.MANIFEST)), Files.readAllBytes(b.resolve(PreparedCache.MANIFEST)));
    Path c = tmp.resolve("c");
    PreparedCache.write(c, DataPipeline.load(List.of(in), opts().withSeed(7), new ByteTokenizer()), new ByteTokenizer());
    assertFalse(java.util.Arrays.equals(Files.readAllBytes(a.resolve(PreparedCache.DATA)), Files.readAllBytes(c.resolve(PreparedCache.DATA))));
  }

  @Test
  void refusesACacheMadeWithOtherOptionsOrTokenizer() throws Exception {
    Path cache = tmp.resolve("cache");
    PreparedCache.write(cache, DataPipeline.load(List.of(data()), opts(), new ByteTokenizer()), new ByteTokenizer());
    RewardKitException e = assertThrows(RewardKitException.class,
        () -> PreparedCache.open(cache, opts().withMaxLength(256), new ByteTokenizer()));
    assertTrue(e.getMessage().contains("--max_length 256 (cache: 512)"), e.getMessage());
    assertThrows(RewardKitException.class, () -> PreparedCache.open(cache, opts().withRewardToken("<|reward|>"), new ByteTokenizer()));
    ByteTokenizer bt = new ByteTokenizer();
    Tokenizer other = new Tokenizer() {
      @Override public int[] encode(String text) { return bt.encode(text); }
      @Override public int vocabSize() { return bt.vocabSize(); }
      @Override public java.util.OptionalInt tokenId(String token) { return bt.tokenId(token); }
      @Override public String eosToken() { return bt.eosToken(); }
      @Override public String chatTemplate() { return bt.chatTemplate(); }
      @Override public String hash() { return "another-tokenizer"; }
      @Override public String name() { return "other"; }
    };
    assertTrue(assertThrows(RewardKitException.class, () -> PreparedCache.open(cache, opts(), other)).getMessage().contains("tokenizer"));
  }

  @Test
  void corruptDataIsDetected() throws Exception {
    Path cache = tmp.resolve("cache");
    PreparedCache.write(cache, DataPipeline.load(List.of(data()), opts(), new ByteTokenizer()), new ByteTokenizer());
    byte[] bytes = Files.readAllBytes(cache.resolve(PreparedCache.DATA));
    bytes[bytes.length - 5] ^= 1;
    Files.write(cache.resolve(PreparedCache.DATA), bytes);
    assertTrue(assertThrows(RewardKitException.class, () -> PreparedCache.open(cache)).getMessage().contains("hash"));
  }

  @Test
  void refusesToOverwriteANonCacheAndReplacesAnOldCache() throws Exception {
    Path notCache = Files.createDirectory(tmp.resolve("docs"));
    Files.writeString(notCache.resolve("keep.txt"), "mine");
    EncodedDataset ds = DataPipeline.load(List.of(data()), opts(), new ByteTokenizer());
    assertThrows(RewardKitException.class, () -> PreparedCache.write(notCache, ds, new ByteTokenizer()));
    assertEquals("mine", Files.readString(notCache.resolve("keep.txt")));
    Path cache = tmp.resolve("cache");
    PreparedCache.write(cache, ds, new ByteTokenizer());
    PreparedCache.write(cache, ds.split(0.5).train(), new ByteTokenizer());
    assertEquals(100, PreparedCache.open(cache).dataset().size());
    try (Stream<Path> s = Files.list(tmp)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".cache.")), "temporary directories left behind");
    }
  }

  @Test
  void prepareCliFailsWithExitCodeAndLeavesNothingBehind() throws Exception {
    Path bad = write(tmp, "bad.jsonl", "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}", "{oops");
    Path out = tmp.resolve("out");
    int rc = RewardKitCli.run("prepare", bad.toString(), "-o", out.toString());
    assertEquals(1, rc);
    assertFalse(Files.exists(out));
    try (Stream<Path> s = Files.list(tmp)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".out")), "temporary files left behind");
    }
    assertEquals(2, RewardKitCli.run("prepare", bad.toString()), "missing --output is a usage error");
  }

  @Test
  void prepareRemovesTheTemporariesOfAKilledPrepareButNotOfALiveOne() throws Exception {
    Path in = data();
    Path out = tmp.resolve("out");
    long dead = ProcessHandle.current().pid() + 4_000_000;  // above pid_max: no such process
    long live = ProcessHandle.current().parent().orElseThrow().pid();
    Path killed = Files.createDirectories(tmp.resolve(".out.tmp-" + dead + "-123"));
    Files.writeString(killed.resolve("data.bin"), "partial");
    Path running = Files.createDirectories(tmp.resolve(".out.tmp-" + live + "-456"));
    assertEquals(0, RewardKitCli.run("prepare", in.toString(), "-o", out.toString(), "--max_length", "512",
        "--max_tokens_per_batch", "2048"));
    assertFalse(Files.exists(killed), "a killed prepare's temporary is removed");
    assertTrue(Files.exists(running), "a live prepare's temporary is left alone");
  }

  @Test
  void prepareCliWritesACacheAndPrintsCounts() throws Exception {
    Path in = data();
    Path out = tmp.resolve("out");
    java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
    java.io.PrintStream old = System.out;
    int rc;
    try {
      System.setOut(new java.io.PrintStream(buf, true, "UTF-8"));
      rc = RewardKitCli.run("prepare", in.toString(), "-o", out.toString(), "--max_length", "512",
          "--max_tokens_per_batch", "2048", "--layout", "shared_prefix");
    } finally {
      System.setOut(old);
    }
    assertEquals(0, rc);
    String text = buf.toString("UTF-8");
    assertTrue(text.contains("shared-prefix saving"), text);
    assertTrue(text.contains("200"), text);
    DataOptions o = opts().withLayout(DataOptions.Layout.SHARED_PREFIX);
    assertEquals(200, PreparedCache.open(out, o, new ByteTokenizer()).dataset().size());
  }
}
