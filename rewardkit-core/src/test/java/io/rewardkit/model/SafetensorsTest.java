package io.rewardkit.model;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.RewardKitException;
import io.rewardkit.model.safetensors.SafetensorsCheckpoint;
import io.rewardkit.model.safetensors.SafetensorsFile;
import io.rewardkit.model.safetensors.SafetensorsWriter;
import io.rewardkit.model.safetensors.SafetensorsWriter.TensorSpec;
import io.rewardkit.model.safetensors.StDType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
  @TempDir Path dir;

  private static TensorSpec spec(String name, StDType dt, float[] values, long... shape) {
    return new TensorSpec(name, dt, shape, (off, dst, n) -> System.arraycopy(values, (int) off, dst, 0, n));
  }

  private static float[] random(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(-6, 6)));
    return v;
  }

  @Test
  void f32RoundTripIsBitExact() {
    float[] a = random(3 * 5, 1);
    float[] b = random(7, 2);
    float[] c = {Float.MIN_VALUE, -0.0f, Float.MAX_VALUE, Float.NaN, Float.NEGATIVE_INFINITY};
    Path f = dir.resolve("m.safetensors");
    SafetensorsWriter.write(f, List.of(spec("a.weight", StDType.F32, a, 3, 5), spec("b", StDType.F32, b, 7),
        spec("c", StDType.F32, c, 5), spec("empty", StDType.F32, new float[0], 0, 4)), Map.of("format", "pt"));
    try (SafetensorsFile sf = SafetensorsFile.open(f)) {
      assertEquals(List.of("a.weight", "b", "c", "empty"), List.copyOf(sf.entries().keySet()));
      assertArrayEquals(new long[] {3, 5}, sf.entry("a.weight").shape());
      assertEquals(StDType.F32, sf.entry("b").dtype());
      assertArrayEquals(a, sf.readFloats("a.weight"));
      assertArrayEquals(b, sf.readFloats("b"));
      float[] cc = sf.readFloats("c");
      for (int i = 0; i < c.length; i++) assertEquals(Float.floatToRawIntBits(c[i]), Float.floatToRawIntBits(cc[i]));
      assertEquals(0, sf.readFloats("empty").length);
      assertEquals("pt", sf.metadata().get("format"));
      // data region starts 8-aligned
      assertEquals(0, (sf.entry("a.weight").fileBegin()) % 8);
    }
    try (Stream<Path> s = listDir()) {
      assertEquals(1, s.count(), "no temp file left behind");
    }
  }

  private Stream<Path> listDir() {
    try {
      return Files.list(dir);
    } catch (java.io.IOException e) {
      throw new RuntimeException(e);
    }
  }

  @Test
  void bf16RoundsToNearestEvenAndReadsBack() {
    float one = 1.0f;
    float tieDown = Float.intBitsToFloat(0x3F808000);   // exactly between 0x3F80 and 0x3F81 -> even 0x3F80
    float tieUp = Float.intBitsToFloat(0x3F818000);     // between 0x3F81 and 0x3F82 -> even 0x3F82
    float above = Float.intBitsToFloat(0x3F808001);     // just above the tie -> 0x3F81
    assertEquals((short) 0x3F80, SafetensorsWriter.floatToBf16(one));
    assertEquals((short) 0x3F80, SafetensorsWriter.floatToBf16(tieDown));
    assertEquals((short) 0x3F82, SafetensorsWriter.floatToBf16(tieUp));
    assertEquals((short) 0x3F81, SafetensorsWriter.floatToBf16(above));
    float[] v = random(1000, 3);
    Path f = dir.resolve("bf.safetensors");
    SafetensorsWriter.write(f, List.of(spec("w", StDType.BF16, v, 10, 100)), null);
    try (SafetensorsFile sf = SafetensorsFile.open(f)) {
      assertEquals(StDType.BF16, sf.entry("w").dtype());
      assertEquals(2000, sf.entry("w").byteSize());
      float[] back = sf.readFloats("w");
      for (int i = 0; i < v.length; i++) {
        assertEquals(Float.intBitsToFloat((SafetensorsWriter.floatToBf16(v[i]) & 0xffff) << 16), back[i]);
        assertEquals(v[i], back[i], Math.abs(v[i]) * 0x1p-8);
      }
      double[] d = new double[v.length];
      sf.readDoubles("w", (off, vals, n) -> System.arraycopy(vals, 0, d, (int) off, n));
      for (int i = 0; i < v.length; i++) assertEquals(back[i], d[i]);
    }
  }

  @Test
  void f16IsReadIncludingSubnormalsAndSpecials() throws Exception {
    short[] halves = {0x3C00, (short) 0xC000, 0x0001, 0x03FF, 0x7BFF, 0x7C00, (short) 0x8000, 0x3555};
    float[] expect = {1f, -2f, 0x1p-24f, 1023 * 0x1p-24f, 65504f, Float.POSITIVE_INFINITY, -0.0f, 0.33325195f};
    ByteBuffer data = ByteBuffer.allocate(halves.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (short h : halves) data.putShort(h);
    Path f = raw("h.safetensors", "{\"h\":{\"dtype\":\"F16\",\"shape\":[8],\"data_offsets\":[0,16]}}", data.array());
    try (SafetensorsFile sf = SafetensorsFile.open(f)) {
      float[] got = sf.readFloats("h");
      for (int i = 0; i < expect.length; i++) {
        assertEquals(Float.floatToRawIntBits(expect[i]), Float.floatToRawIntBits(got[i]), "half " + i);
      }
    }
  }

  @Test
  void shardedCheckpointRoundTrips() throws Exception {
    float[] a = random(100, 4), b = random(60, 5), c = random(30, 6);
    List<TensorSpec> specs = List.of(spec("x.a", StDType.F32, a, 100), spec("x.b", StDType.F32, b, 6, 10),
        spec("x.c", StDType.BF16, c, 30));
    SafetensorsCheckpoint.write(dir, specs, 500);  // 400 + 240 + 60 bytes: shards {a}, {b, c}
    assertFalse(Files.exists(dir.resolve("model.safetensors")));
    assertTrue(Files.exists(dir.resolve("model-00001-of-00002.safetensors")));
    assertTrue(Files.exists(dir.resolve("model-00002-of-00002.safetensors")));
    JsonNode idx = new ObjectMapper().readTree(dir.resolve("model.safetensors.index.json").toFile());
    assertEquals(700, idx.get("metadata").get("total_size").asLong());
    assertEquals("model-00001-of-00002.safetensors", idx.get("weight_map").get("x.a").asText());
    assertEquals("model-00002-of-00002.safetensors", idx.get("weight_map").get("x.c").asText());
    try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(dir)) {
      assertEquals(3, ck.names().size());
      assertArrayEquals(a, ck.file("x.a").readFloats("x.a"));
      assertArrayEquals(b, ck.file("x.b").readFloats("x.b"));
      assertArrayEquals(new long[] {6, 10}, ck.entry("x.b").shape());
      assertEquals(StDType.BF16, ck.entry("x.c").dtype());
    }
    // below the limit: a single file, no index
    Path single = dir.resolve("single");
    SafetensorsCheckpoint.write(single, specs, 10_000);
    assertTrue(Files.exists(single.resolve("model.safetensors")));
    assertFalse(Files.exists(single.resolve("model.safetensors.index.json")));
    try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(single)) {
      assertEquals(c.length, ck.file("x.c").readFloats("x.c").length);
    }
  }

  @Test
  void brokenIndexesAreReported() throws Exception {
    SafetensorsCheckpoint.write(dir, List.of(spec("p", StDType.F32, random(100, 1), 100),
        spec("q", StDType.F32, random(100, 2), 100)), 400);
    Path index = dir.resolve("model.safetensors.index.json");
    String good = Files.readString(index);
    Files.writeString(index, good.replace("model-00002-of-00002", "model-00009-of-00002"));
    assertMessage(() -> SafetensorsCheckpoint.open(dir).close(), "model-00009-of-00002.safetensors", "'q'", "does not exist");
    Files.writeString(index, good.replace("\"q\" : \"model-00002-of-00002", "\"q\" : \"model-00001-of-00002"));
    assertMessage(() -> SafetensorsCheckpoint.open(dir).close(), "'q'", "lacks it");
    Files.writeString(index, good.replace("\"q\" : \"model-00002-of-00002.safetensors\"", "\"r\" : \"model-00002-of-00002.safetensors\""));
    assertMessage(() -> SafetensorsCheckpoint.open(dir).close(), "'r'");
    Files.writeString(index, "{\"weight_map\": ");
    assertMessage(() -> SafetensorsCheckpoint.open(dir).close(), "index.json", "not valid JSON");
    Path empty = dir.resolve("empty");
    Files.createDirectories(empty);
    assertMessage(() -> SafetensorsCheckpoint.open(empty).close(), "model.safetensors");
  }

  // ---- corrupted files ------------------------------------------------------------------------

  /** A file with the given header JSON (as-is) and data bytes. */
  private Path raw(String name, String header, byte[] data) throws Exception {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h).put(data);
    Path f = dir.resolve(name);
    Files.write(f, b.array());
    return f;
  }

  private static void assertMessage(Runnable r, String... fragments) {
    RewardKitException e = assertThrows(RewardKitException.class, r::run);
    for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' not in: " + e.getMessage());
  }

  private void assertCorrupt(Path f, String... fragments) {
    String[] all = new String[fragments.length + 1];
    all[0] = f.toString();
    System.arraycopy(fragments, 0, all, 1, fragments.length);
    assertMessage(() -> SafetensorsFile.open(f).close(), all);
  }

  private static final String TWO =
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";

  @Test
  void aValidHandBuiltFileOpens() throws Exception {
    try (SafetensorsFile sf = SafetensorsFile.open(raw("ok.safetensors", TWO, new byte[16]))) {
      assertEquals(2, sf.entries().size());
    }
  }

  @Test
  void truncatedDataNamesTheTensor() throws Exception {
    assertCorrupt(raw("t.safetensors", TWO, new byte[12]), "'b'", "past the end");
  }

  @Test
  void truncatedHeaderAndTinyFile() throws Exception {
    Path f = raw("h.safetensors", TWO, new byte[16]);
    byte[] all = Files.readAllBytes(f);
    Files.write(f, java.util.Arrays.copyOf(all, 40));
    assertCorrupt(f, "truncated", "header length");
    Files.write(f, new byte[5]);
    assertCorrupt(f, "shorter than");
  }

  @Test
  void headerLengthLyingOrHuge() throws Exception {
    Path f = raw("l.safetensors", TWO, new byte[16]);
    byte[] all = Files.readAllBytes(f);
    ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 40);
    Files.write(f, all);
    assertCorrupt(f, "exceeds", "cap");
    ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -1L);
    Files.write(f, all);
    assertCorrupt(f, "exceeds");
    // a length that is plausible but too short cuts the JSON
    ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 20);
    Files.write(f, all);
    assertCorrupt(f, "not valid JSON");
  }

  @Test
  void offsetsOutsideTheFile() throws Exception {
    assertCorrupt(raw("o.safetensors",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[1000,1008]}}", new byte[8]), "'a'", "past the end");
  }

  @Test
  void overlappingTensors() throws Exception {
    assertCorrupt(raw("ov.safetensors",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
        new byte[12]), "'b'", "overlaps", "'a'");
  }

  @Test
  void gapsAndTrailingBytes() throws Exception {
    assertCorrupt(raw("g.safetensors",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}",
        new byte[20]), "'b'", "gap");
    assertCorrupt(raw("tr.safetensors", TWO, new byte[24]), "8 bytes of data after the last tensor");
  }

  @Test
  void shapeSizeMismatch() throws Exception {
    assertCorrupt(raw("s.safetensors",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]), "'a'", "12 bytes", "span 8");
    assertCorrupt(raw("s2.safetensors",
        "{\"a\":{\"dtype\":\"BF16\",\"shape\":[2,-1],\"data_offsets\":[0,8]}}", new byte[8]), "'a'", "non-negative");
    assertCorrupt(raw("s3.safetensors",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", new byte[8]), "'a'", "end before begin");
  }

  @Test
  void badJsonAndUnknownDtype() throws Exception {
    assertCorrupt(raw("j.safetensors", "{\"a\":{\"dtype\":\"F32\",", new byte[0]), "not valid JSON");
    assertCorrupt(raw("j2.safetensors", "[1,2]", new byte[0]), "not a JSON object");
    assertCorrupt(raw("d.safetensors",
        "{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]), "'a'", "unknown dtype 'F33'");
    assertCorrupt(raw("dup.safetensors",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
        new byte[8]), "not valid JSON", "Duplicate");
  }

  @Test
  void integerTensorsValidateButCannotBeReadAsWeights() throws Exception {
    Path f = raw("i.safetensors", "{\"n\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8]);
    try (SafetensorsFile sf = SafetensorsFile.open(f)) {
      assertMessage(() -> sf.readFloats("n"), "'n'", "I64");
      assertMessage(() -> sf.readFloats("missing"), "'missing'");
    }
  }
}
