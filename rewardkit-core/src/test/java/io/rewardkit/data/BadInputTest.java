package io.rewardkit.data;

import static io.rewardkit.data.DataTestSupport.load;
import static io.rewardkit.data.DataTestSupport.skip;
import static io.rewardkit.data.DataTestSupport.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.rewardkit.RewardKitException;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every bad input of the issue: a clear error in fail mode, a count by reason in skip mode, no crash. */
class BadInputTest {
  @TempDir Path tmp;

  private static final String GOOD = "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}";

  private BadRecordException failOn(Path f) {
    return assertThrows(BadRecordException.class, () -> load(DataOptions.defaults(), f));
  }

  @Test
  void malformedJsonNamesFileLineAndColumn() throws Exception {
    Path f = write(tmp, "bad.jsonl", GOOD, "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": }");
    BadRecordException e = failOn(f);
    assertEquals("malformed_json", e.reason());
    assertTrue(e.getMessage().startsWith(f + ":2:"), e.getMessage());
    String col = e.location().substring(e.location().lastIndexOf(':') + 1);
    assertTrue(Integer.parseInt(col) > 40, "column points into the line: " + e.getMessage());
  }

  @Test
  void trailingContentAndNonObjectLinesAreRejected() throws Exception {
    assertEquals("malformed_json", failOn(write(tmp, "t.jsonl", GOOD + " {}")).reason());
    assertEquals("wrong_type", failOn(write(tmp, "n.jsonl", "[1, 2]")).reason());
  }

  @Test
  void malformedJsonArrayNamesLineAndColumn() throws Exception {
    Path f = write(tmp, "bad.json", "[", GOOD + ",", "{\"prompt\": \"p\",, }", "]");
    BadRecordException e = failOn(f);
    assertEquals("malformed_json", e.reason());
    assertTrue(e.getMessage().startsWith(f + ":3:"), e.getMessage());
  }

  @Test
  void wrongTypesAndMissingFieldsNameTheField() throws Exception {
    BadRecordException t = failOn(write(tmp, "w.jsonl", "{\"prompt\": \"p\", \"chosen\": 3, \"rejected\": \"b\"}"));
    assertEquals("wrong_type", t.reason());
    assertTrue(t.getMessage().contains("'chosen' is a number"), t.getMessage());
    BadRecordException m = failOn(write(tmp, "m.jsonl", "{\"prompt\": \"p\", \"chosen\": \"a\"}"));
    assertEquals("missing_field", m.reason());
    assertTrue(m.getMessage().contains("'rejected' is missing"), m.getMessage());
    BadRecordException mg = failOn(write(tmp, "g.jsonl", "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\", \"margin\": \"big\"}"));
    assertEquals("wrong_type", mg.reason());
    BadRecordException role = failOn(write(tmp, "r.jsonl",
        "{\"prompt\": [{\"role\": \"human\", \"content\": \"q\"}], \"chosen\": [{\"role\": \"assistant\", \"content\": \"a\"}], \"rejected\": \"b\"}"));
    assertEquals("bad_role", role.reason());
  }

  @Test
  void emptyWhitespaceAndIdenticalResponses() throws Exception {
    assertEquals("empty_response", failOn(write(tmp, "e.jsonl", "{\"prompt\": \"p\", \"chosen\": \"\", \"rejected\": \"b\"}")).reason());
    assertEquals("empty_response", failOn(write(tmp, "s.jsonl", "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \" \\n\\t \"}")).reason());
    assertEquals("identical_responses", failOn(write(tmp, "i.jsonl", "{\"prompt\": \"p\", \"chosen\": \"same\", \"rejected\": \"same\"}")).reason());
    assertEquals("identical_responses", failOn(write(tmp, "h.jsonl",
        "{\"chosen\": \"\\n\\nHuman: q\\n\\nAssistant: x\", \"rejected\": \"\\n\\nHuman: q\\n\\nAssistant: x\"}")).reason());
  }

  @Test
  void invalidUtf8IsReportedWithColumn() throws Exception {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.writeBytes((GOOD + "\n").getBytes(StandardCharsets.UTF_8));
    b.writeBytes("{\"prompt\": \"p\", \"chosen\": \"a".getBytes(StandardCharsets.UTF_8));
    b.write(0xC3); // lead byte followed by a non-continuation byte
    b.write('(');
    b.writeBytes("\", \"rejected\": \"b\"}\n".getBytes(StandardCharsets.UTF_8));
    Path f = DataTestSupport.writeBytes(tmp, "u.jsonl", b.toByteArray());
    BadRecordException e = failOn(f);
    assertEquals("invalid_utf8", e.reason());
    assertTrue(e.getMessage().startsWith(f + ":2:29"), e.getMessage());
    // Overlong encodings and UTF-16 surrogates are invalid too.
    assertEquals(0, Utf8.firstInvalid(new byte[] {(byte) 0xC0, (byte) 0x80}, 0, 2));
    assertEquals(0, Utf8.firstInvalid(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, 0, 3));
    assertEquals(-1, Utf8.firstInvalid("héllo €𝄞".getBytes(StandardCharsets.UTF_8), 0, "héllo €𝄞".getBytes(StandardCharsets.UTF_8).length));
  }

  @Test
  void hundredMegabyteLineIsRejectedWithoutHoldingItAndReadingContinues() throws Exception {
    Path f = tmp.resolve("huge.jsonl");
    byte[] chunk = new byte[1 << 20];
    Arrays.fill(chunk, (byte) 'x');
    try (OutputStream out = Files.newOutputStream(f)) {
      out.write("{\"prompt\": \"p\", \"chosen\": \"".getBytes(StandardCharsets.UTF_8));
      for (int i = 0; i < 100; i++) out.write(chunk);
      out.write(("\", \"rejected\": \"b\"}\n" + GOOD + "\n").getBytes(StandardCharsets.UTF_8));
    }
    BadRecordException e = failOn(f);
    assertEquals("record_too_large", e.reason());
    assertTrue(e.getMessage().startsWith(f + ":1:"), e.getMessage());
    EncodedDataset ds = load(skip(), f);
    assertEquals(1, ds.size());
    assertEquals(Map.of("record_too_large", 1L), ds.report().datasets().get(0).bad());
  }

  @Test
  void jsonArrayWithInvalidUtf8OrAnOversizedStringIsReported() throws Exception {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.writeBytes(("[" + GOOD + ",\n{\"prompt\": \"p\", \"chosen\": \"a").getBytes(StandardCharsets.UTF_8));
    b.write(0xFF);
    b.writeBytes("\", \"rejected\": \"b\"}]".getBytes(StandardCharsets.UTF_8));
    BadRecordException e = failOn(DataTestSupport.writeBytes(tmp, "u.json", b.toByteArray()));
    assertEquals("invalid_utf8", e.reason());
    assertTrue(e.getMessage().contains("u.json:2:"), e.getMessage());
    Path big = write(tmp, "big.json", "[" + GOOD + ",", "{\"prompt\": \"" + "z".repeat(5000) + "\", \"chosen\": \"a\", \"rejected\": \"b\"}]");
    BadRecordException tooBig = assertThrows(BadRecordException.class,
        () -> load(DataOptions.defaults().withMaxRecordBytes(1000), big));
    assertEquals("record_too_large", tooBig.reason());
    EncodedDataset ds = load(skip().withMaxRecordBytes(1000), big);
    assertEquals(1, ds.size());
  }

  @Test
  void emptyFileAndWhitespaceOnlyFile() throws Exception {
    Path empty = DataTestSupport.writeBytes(tmp, "empty.jsonl", new byte[0]);
    assertEquals("empty_file", failOn(empty).reason());
    Path blank = DataTestSupport.writeBytes(tmp, "blank.json", "  \n\n ".getBytes(StandardCharsets.UTF_8));
    assertEquals("empty_file", failOn(blank).reason());
    Path good = write(tmp, "good.jsonl", GOOD);
    EncodedDataset ds = DataPipeline.load(java.util.List.of(empty, good), skip(), new ByteTokenizer());
    assertEquals(1, ds.size());
    assertEquals(Map.of("empty_file", 1L), ds.report().datasets().get(0).bad());
    // Only bad input: an error, never an empty dataset.
    RewardKitException none = assertThrows(RewardKitException.class, () -> load(skip(), empty));
    assertTrue(none.getMessage().contains("no usable pairs"), none.getMessage());
  }

  @Test
  void missingAndUnreadablePathsFailBeforeAnyWork() throws Exception {
    RewardKitException e = assertThrows(RewardKitException.class, () -> load(skip(), tmp.resolve("nope.jsonl")));
    assertTrue(e.getMessage().contains("input not found"), e.getMessage());
    Path emptyDir = Files.createDirectory(tmp.resolve("emptydir"));
    assertTrue(assertThrows(RewardKitException.class, () -> load(skip(), emptyDir)).getMessage().contains("has no .jsonl"));
    Path locked = write(tmp, "locked.jsonl", GOOD);
    Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("---------"));
    assumeFalse(Files.isReadable(locked), "skipped the permission part: running as a user that reads mode-000 files (root)");
    assertTrue(assertThrows(RewardKitException.class, () -> load(skip(), locked)).getMessage().contains("not readable"));
  }

  @Test
  void corruptGzipIsAnIoErrorNotACrash() throws Exception {
    Path gz = DataTestSupport.writeGzip(tmp, "c.jsonl.gz", GOOD, GOOD, GOOD);
    byte[] bytes = Files.readAllBytes(gz);
    Path cut = DataTestSupport.writeBytes(tmp, "cut.jsonl.gz", Arrays.copyOf(bytes, bytes.length - 12));
    assertEquals("io_error", failOn(cut).reason());
  }

  @Test
  void skipModeCountsEveryReasonAndKeepsGoodRecords() throws Exception {
    Path f = write(tmp, "mixed.jsonl",
        GOOD,
        "{not json",
        "{\"prompt\": \"p\", \"chosen\": 1, \"rejected\": \"b\"}",
        "{\"prompt\": \"p\", \"chosen\": \"a\"}",
        "{\"prompt\": \"p\", \"chosen\": \"  \", \"rejected\": \"b\"}",
        "{\"prompt\": \"p\", \"chosen\": \"same\", \"rejected\": \"same\"}",
        "",
        "{\"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"d\"}");
    EncodedDataset ds = load(skip(), f);
    assertEquals(2, ds.size());
    DatasetStats st = ds.report().datasets().get(0);
    assertEquals(Map.of("malformed_json", 1L, "wrong_type", 1L, "missing_field", 1L, "empty_response", 1L,
        "identical_responses", 1L), st.bad());
    assertEquals(2, st.kept());
    assertTrue(st.firstError().get("missing_field").startsWith(f + ":4"), st.firstError().toString());
    assertTrue(ds.report().table().contains("missing_field"));
  }

  @Test
  void failModeShowsTheFirstErrorInFileOrder() throws Exception {
    Path f = write(tmp, "order.jsonl", GOOD,
        "{\"prompt\": \"p\", \"chosen\": \"x\", \"rejected\": \"x\"}",
        "{broken");
    BadRecordException e = failOn(f);
    assertEquals("identical_responses", e.reason());
    assertTrue(e.getMessage().startsWith(f + ":2"), e.getMessage());
  }
}
