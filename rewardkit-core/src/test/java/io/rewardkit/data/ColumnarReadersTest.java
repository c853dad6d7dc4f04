package io.rewardkit.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.RewardKitException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Parquet, Arrow (save_to_disk) and Hub-cache inputs go through the same parser as JSONL: the
 * fixtures (tools/make_columnar_fixtures.py, pyarrow / datasets) hold the same records as the
 * JSONL beside them, and each must give the same prepared-cache bytes.
 */
class ColumnarReadersTest {
  static final Path FIX = Path.of("rewardkit-core/src/test/resources/columnar");
  /** Renders role/content plainly, so chat data needs no tokenizer template. */
  static final String TEMPLATE = "{% for m in messages %}<{{ m.role }}>{{ m.content }}</{{ m.role }}>{% endfor %}";

  @TempDir Path tmp;

  @AfterEach
  void clearHubCache() { System.clearProperty(DatasetFiles.HUB_CACHE_PROPERTY); }

  private DataOptions chat() throws IOException {
    Path t = tmp.resolve("t.jinja");
    Files.writeString(t, TEMPLATE);
    return DataOptions.defaults().withChatTemplate(t.toString());
  }

  /** The pairs.bin of a prepared cache of these inputs. */
  private byte[] cacheBytes(DataOptions o, String name, Path... inputs) throws IOException {
    EncodedDataset ds = DataPipeline.load(List.of(inputs), o, new ByteTokenizer());
    Path dir = tmp.resolve("cache-" + name);
    PreparedCache.write(dir, ds, new ByteTokenizer());
    return Files.readAllBytes(dir.resolve(PreparedCache.DATA));
  }

  @Test
  void flatParquetPreparesTheSameBytesAsJsonl() throws IOException {
    DataOptions o = DataOptions.defaults();
    byte[] json = cacheBytes(o, "json", FIX.resolve("flat.jsonl"));
    byte[] pq = cacheBytes(o, "pq", FIX.resolve("flat.parquet"));
    assertArrayEquals(json, pq);
    EncodedDataset ds = DataPipeline.load(List.of(FIX.resolve("flat.parquet")), o, new ByteTokenizer());
    assertEquals(5, ds.size());
    assertEquals(1.5f, ds.margin(0)); // the margin column is read
    assertEquals("Ünïcödé prompt ✓", DataTestSupport.decode(ds.pair(3).prompt()));
    assertEquals("text", ds.report().datasets().get(0).formats().values().iterator().next());
  }

  @Test
  void unreadColumnsLikeRawBytesDoNotMatter() throws IOException {
    DataOptions o = DataOptions.defaults();
    assertArrayEquals(cacheBytes(o, "json", FIX.resolve("flat.jsonl")), cacheBytes(o, "extra", FIX.resolve("flat_extra_columns.parquet")));
    // Every row is still visible whole to callers that want all columns; the raw bytes read as null.
    List<String> images = new java.util.ArrayList<>();
    DataPipeline.forEachRow(FIX.resolve("flat_extra_columns.parquet"), o, (row, where) -> images.add(row.get("image").toString()));
    assertEquals(List.of("null", "null", "null", "null", "null"), images);
  }

  @Test
  void nestedParquetWithZstdPageV2AndTwoRowGroupsPreparesTheSameBytesAsJsonl() throws IOException {
    DataOptions o = chat();
    byte[] json = cacheBytes(o, "json", FIX.resolve("nested.jsonl"));
    byte[] pq = cacheBytes(o, "pq", FIX.resolve("nested.parquet"));
    assertArrayEquals(json, pq);
    EncodedDataset ds = DataPipeline.load(List.of(FIX.resolve("nested.parquet")), o, new ByteTokenizer());
    assertEquals(3, ds.size());
    // UltraFeedback shape: full conversations in chosen/rejected (prompt column repeats the first turn).
    assertEquals("conversation", ds.report().datasets().get(0).formats().values().iterator().next());
    assertEquals("<system>Be brief.</system><user>Capital of France?</user><assistant>Paris.</assistant><user>And of Italy?</user>",
        DataTestSupport.decode(ds.pair(2).prompt()));
  }

  @Test
  void saveToDiskFolderPreparesTheSameBytesAsJsonl() throws IOException {
    DataOptions o = chat();
    assertEquals(DatasetFiles.Kind.ARROW_STREAM, DatasetFiles.kind(FIX.resolve("nested_save_to_disk/data-00000-of-00001.arrow")));
    assertArrayEquals(cacheBytes(o, "json", FIX.resolve("nested.jsonl")), cacheBytes(o, "arrow", FIX.resolve("nested_save_to_disk")));
  }

  @Test
  void saveToDiskDatasetDictSplits() throws IOException {
    Path dict = FIX.resolve("dict_save_to_disk");
    assertArrayEquals(cacheBytes(chat(), "json", FIX.resolve("nested.jsonl")), cacheBytes(chat(), "train", dict)); // default: train
    assertArrayEquals(cacheBytes(DataOptions.defaults(), "flat", FIX.resolve("flat.jsonl")),
        cacheBytes(DataOptions.defaults().withDatasetSplit("test"), "test", dict));
    RewardKitException e = assertThrows(RewardKitException.class,
        () -> DataPipeline.load(List.of(dict), DataOptions.defaults().withDatasetSplit("validation"), new ByteTokenizer()));
    assertEquals(dict + " (datasets.save_to_disk DatasetDict) has no split 'validation'; splits: [train, test] (choose one with --dataset_split)",
        e.getMessage());
  }

  @Test
  void scoreKeysGiveUltraFeedbackMargins() throws IOException {
    DataOptions o = chat().withScoreKeys("score_chosen,score_rejected");
    EncodedDataset ds = DataPipeline.load(List.of(FIX.resolve("nested.parquet")), o, new ByteTokenizer());
    assertEquals(6.0f, ds.margin(0));
    assertEquals(5.5f, ds.margin(1));
    assertEquals(0.5f, ds.margin(2));
    RewardKitException e = assertThrows(RewardKitException.class,
        () -> DataPipeline.load(List.of(FIX.resolve("flat.parquet")), DataOptions.defaults().withScoreKeys("score_chosen,score_rejected"), new ByteTokenizer()));
    assertTrue(e.getMessage().contains("flat.parquet:row 0") && e.getMessage().contains("'score_chosen' is missing"), e.getMessage());
  }

  @Test
  void parquetIsDetectedByMagicBytesNotByName() throws IOException {
    Path disguised = tmp.resolve("pairs.jsonl");
    Files.copy(FIX.resolve("flat.parquet"), disguised);
    assertEquals(DatasetFiles.Kind.PARQUET, DatasetFiles.kind(disguised));
    assertArrayEquals(cacheBytes(DataOptions.defaults(), "json", FIX.resolve("flat.jsonl")),
        cacheBytes(DataOptions.defaults(), "disguised", disguised));
  }

  @Test
  void badRowsAreNamedByFileAndRow() {
    Path bad = FIX.resolve("bad.parquet");
    BadRecordException e = assertThrows(BadRecordException.class,
        () -> DataPipeline.load(List.of(bad), DataOptions.defaults(), new ByteTokenizer()));
    assertEquals(bad + ":row 1: missing_field: field 'rejected' is missing (fields: [prompt, chosen, rejected, n])", e.getMessage());
    EncodedDataset ds = DataPipeline.load(List.of(bad), DataTestSupport.skip(), new ByteTokenizer());
    assertEquals(2, ds.size());
    DatasetStats s = ds.report().datasets().get(0);
    assertEquals(1L, s.bad().get("missing_field"));
    assertEquals(2L, s.kept());
  }

  @Test
  void damagedParquetIsOneBadRecordNamingTheFile() throws IOException {
    byte[] b = Files.readAllBytes(FIX.resolve("flat.parquet"));
    byte[] cut = java.util.Arrays.copyOf(b, b.length - 20); // footer gone, magic at the start kept
    Path p = DataTestSupport.writeBytes(tmp, "cut.parquet", cut);
    BadRecordException e = assertThrows(BadRecordException.class,
        () -> DataPipeline.load(List.of(p), DataOptions.defaults(), new ByteTokenizer()));
    assertTrue(e.getMessage().startsWith(p + ": malformed_parquet: cannot decode the Parquet file"), e.getMessage());
    assertTrue(!e.getMessage().contains("Exception"), e.getMessage());
  }

  /** ~/.cache/huggingface/hub/datasets--ORG--NAME/{refs/main, snapshots/REV/...} as huggingface_hub lays it out. */
  private Path hubSnapshot(String repo, String rev) throws IOException {
    Path root = tmp.resolve("hub");
    Path entry = root.resolve("datasets--" + repo.replace("/", "--"));
    Files.createDirectories(entry.resolve("refs"));
    Files.writeString(entry.resolve("refs/main"), rev);
    Path snap = entry.resolve("snapshots").resolve(rev);
    Files.createDirectories(snap.resolve("data"));
    System.setProperty(DatasetFiles.HUB_CACHE_PROPERTY, root.toString());
    return snap;
  }

  @Test
  void hubCacheSnapshotIsFoundByRepoIdAndSplit() throws IOException {
    Path snap = hubSnapshot("acme/prefs", "0123abcd");
    Files.copy(FIX.resolve("nested.parquet"), snap.resolve("data/train-00000-of-00001.parquet"));
    Files.copy(FIX.resolve("flat.parquet"), snap.resolve("data/test-00000-of-00001.parquet"));
    DataOptions o = chat();
    assertArrayEquals(cacheBytes(o, "json", FIX.resolve("nested.jsonl")), cacheBytes(o, "hub", Path.of("acme/prefs")));
    assertArrayEquals(cacheBytes(DataOptions.defaults(), "flat", FIX.resolve("flat.jsonl")),
        cacheBytes(DataOptions.defaults().withDatasetSplit("test"), "hubtest", Path.of("acme/prefs")));
    RewardKitException e = assertThrows(RewardKitException.class,
        () -> DataPipeline.load(List.of(Path.of("acme/prefs")), o.withDatasetSplit("validation"), new ByteTokenizer()));
    assertTrue(e.getMessage().contains("no files of split 'validation'") && e.getMessage().contains("[test, train]"), e.getMessage());
  }

  @Test
  void hubCacheReadmeConfigsChooseConfigAndSplit() throws IOException {
    Path snap = hubSnapshot("acme/mix", "feedbeef");
    Files.createDirectories(snap.resolve("other"));
    Files.copy(FIX.resolve("nested.parquet"), snap.resolve("data/train_prefs-00000-of-00001.parquet"));
    Files.copy(FIX.resolve("flat.parquet"), snap.resolve("other/train-00000-of-00001.parquet"));
    Files.writeString(snap.resolve("README.md"), String.join("\n", "---", "configs:", "- config_name: default",
        "  data_files:", "  - split: train_prefs", "    path: data/train_prefs-*", "- config_name: flat",
        "  data_files:", "  - split: train", "    path: other/*.parquet", "---", "# card"));
    DataOptions o = chat();
    assertArrayEquals(cacheBytes(o, "json", FIX.resolve("nested.jsonl")),
        cacheBytes(o.withDatasetSplit("train_prefs"), "hub", Path.of("acme/mix")));
    assertEquals(5, DataPipeline.load(List.of(Path.of("acme/mix")), DataOptions.defaults().withDatasetConfig("flat"), new ByteTokenizer()).size());
    RewardKitException e = assertThrows(RewardKitException.class,
        () -> DataPipeline.load(List.of(Path.of("acme/mix")), o, new ByteTokenizer()));
    assertTrue(e.getMessage().contains("has no split 'train'") && e.getMessage().contains("[train_prefs]"), e.getMessage());
  }

  @Test
  void absentHubDatasetSaysWhereItLooked() {
    System.setProperty(DatasetFiles.HUB_CACHE_PROPERTY, tmp.resolve("empty-hub").toString());
    RewardKitException e = assertThrows(RewardKitException.class,
        () -> DataPipeline.load(List.of(Path.of("nobody/nothing")), DataOptions.defaults(), new ByteTokenizer()));
    assertTrue(e.getMessage().contains(tmp.resolve("empty-hub").resolve("datasets--nobody--nothing").toString())
        && e.getMessage().contains("offline"), e.getMessage());
  }

  @Test
  void nemoRankFormatAndKtoRefusal() throws IOException {
    Path ranked = DataTestSupport.write(tmp, "ranked.jsonl",
        "{\"context\": \"Capital of France?\", \"completions\": [{\"rank\": 1, \"completion\": \"London\"}, {\"rank\": 0, \"completion\": \"Paris\"}]}",
        "{\"context\": [{\"role\": \"user\", \"content\": \"2+2?\"}], \"completions\": [{\"rank\": 0, \"completion\": [{\"role\": \"assistant\", \"content\": \"4\"}]}, {\"rank\": 2, \"completion\": \"3\"}, {\"rank\": 1, \"completion\": \"5\"}]}",
        "{\"context\": \"tie\", \"completions\": [{\"rank\": 0, \"completion\": \"a\"}, {\"rank\": 0, \"completion\": \"b\"}]}");
    EncodedDataset ds = DataPipeline.load(List.of(ranked), chat().withOnBadRecord(DataOptions.OnBadRecord.SKIP), new ByteTokenizer());
    assertEquals(2, ds.size());
    assertEquals("<assistant>Paris</assistant>", DataTestSupport.decode(ds.pair(0).chosen()));
    assertEquals("<assistant>London</assistant>", DataTestSupport.decode(ds.pair(0).rejected()));
    assertEquals("<assistant>5</assistant>", DataTestSupport.decode(ds.pair(1).rejected())); // next rank, not the worst
    assertEquals(1L, ds.report().datasets().get(0).bad().get("tied_ranks"));

    Path kto = DataTestSupport.write(tmp, "kto.jsonl", "{\"prompt\": \"Hi\", \"completion\": \"Hello\", \"label\": true}");
    RewardKitException e = assertThrows(RewardKitException.class,
        () -> DataPipeline.load(List.of(kto), DataTestSupport.skip(), new ByteTokenizer()));
    assertTrue(e.getMessage().startsWith(kto + ":1: this is unpaired (KTO-style) data"), e.getMessage());
  }
}
