package io.rewardkit.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * Streams JSON records out of JSONL and JSON-array files, plain or gzip-compressed (detected by
 * magic bytes, not by name). A JSONL line is read into a buffer capped at maxRecordBytes (a longer
 * line is skipped to its newline, never held in memory), checked as strict UTF-8, and parsed by
 * its own Jackson parser so one malformed line cannot poison the next. A JSON array is parsed
 * element by element with one streaming parser; a syntax error there ends the file.
 */
final class JsonRecordReader {

  /** Receives records and problems in file order. {@code bad} may throw to stop reading. */
  interface Sink {
    void record(ObjectNode node, String location);
    void bad(BadRecordException problem);
  }

  private final ObjectMapper mapper;
  private final int maxRecordBytes;

  JsonRecordReader(int maxRecordBytes) {
    this.maxRecordBytes = maxRecordBytes;
    JsonFactory f = JsonFactory.builder()
        .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(maxRecordBytes).build())
        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
        .disable(StreamReadFeature.AUTO_CLOSE_SOURCE) // we drain the file afterwards for its hash
        .build();
    this.mapper = new ObjectMapper(f);
  }

  static boolean looksLikeData(Path p) {
    String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
    return n.endsWith(".jsonl") || n.endsWith(".json") || n.endsWith(".jsonl.gz") || n.endsWith(".json.gz");
  }

  /**
   * Reads one file into the sink and returns the SHA-256 (hex) of its bytes as stored on disk.
   * Unreadable paths throw {@link RewardKitException}; everything else goes through the sink.
   */
  String read(Path file, String name, Sink sink) {
    MessageDigest sha = Sha256.newDigest();
    InputStream raw;
    try {
      raw = Files.newInputStream(file);
    } catch (NoSuchFileException e) {
      throw new RewardKitException("input not found: " + file);
    } catch (AccessDeniedException e) {
      throw new RewardKitException("input is not readable (permission denied): " + file);
    } catch (IOException e) {
      throw new RewardKitException("cannot open " + file + ": " + e.getMessage(), e);
    }
    try (InputStream digesting = new DigestInputStream(raw, sha)) {
      BufferedInputStream in = new BufferedInputStream(digesting, 1 << 16);
      in.mark(2);
      int m0 = in.read(), m1 = in.read();
      in.reset();
      InputStream data = in;
      if (m0 == 0x1f && m1 == 0x8b) data = new BufferedInputStream(new GZIPInputStream(in, 1 << 16), 1 << 16);
      LineReader lines = new LineReader(data, maxRecordBytes);
      int first = lines.peekFirstNonWhitespace();
      if (first < 0) {
        sink.bad(new BadRecordException("empty_file", name, "file has no records"));
      } else if (first == '[') {
        readArray(lines.rest(), name, sink, lines.lineNumber());
      } else {
        readLines(lines, name, sink);
      }
      // Drain so the digest covers the whole file even when reading stopped early.
      byte[] skip = new byte[1 << 16];
      while (digesting.read(skip) >= 0) { /* hash the rest */ }
    } catch (IOException e) {
      sink.bad(new BadRecordException("io_error", name, e.getClass().getSimpleName() + ": " + e.getMessage()
          + " (rest of file not read)"));
    }
    return Sha256.hex(sha.digest());
  }

  private void readLines(LineReader lines, String name, Sink sink) throws IOException {
    int n;
    while ((n = lines.next()) >= 0) {
      long lineNo = lines.lineNumber();
      String where = name + ":" + lineNo;
      if (lines.tooLong()) {
        sink.bad(new BadRecordException("record_too_large", where,
            "line is longer than the record cap of " + maxRecordBytes + " bytes (--max_record_bytes)"));
        continue;
      }
      byte[] buf = lines.buffer();
      if (isBlank(buf, n)) continue;
      int bad = Utf8.firstInvalid(buf, 0, n);
      if (bad >= 0) {
        sink.bad(new BadRecordException("invalid_utf8", where + ":" + (bad + 1),
            String.format(Locale.ROOT, "invalid UTF-8 byte 0x%02x at column %d", buf[bad] & 0xff, bad + 1)));
        continue;
      }
      JsonNode node;
      try (JsonParser p = mapper.createParser(buf, 0, n)) {
        node = mapper.readTree(p);
        JsonToken extra = p.nextToken();
        if (extra != null) {
          sink.bad(new BadRecordException("malformed_json", where + ":" + p.currentTokenLocation().getColumnNr(),
              "unexpected content after the JSON value (one record per line)"));
          continue;
        }
      } catch (JsonProcessingException e) {
        int col = e.getLocation() == null ? -1 : e.getLocation().getColumnNr();
        sink.bad(new BadRecordException("malformed_json", where + (col > 0 ? ":" + col : ""), e.getOriginalMessage()));
        continue;
      }
      if (!(node instanceof ObjectNode obj)) {
        sink.bad(new BadRecordException("wrong_type", where, "record is a JSON " + kind(node) + ", expected an object"));
        continue;
      }
      sink.record(obj, where);
    }
  }

  /** lineOffset: newlines before the '[' that the parser did not see (its line 1 is the file's lineOffset+1). */
  private void readArray(InputStream in, String name, Sink sink, long lineOffset) throws IOException {
    JsonParser p = mapper.createParser(in);
    long index = 0;
    try (p) {
      if (p.nextToken() != JsonToken.START_ARRAY) throw new IllegalStateException("array expected");
      while (true) {
        JsonToken t = p.nextToken();
        if (t == JsonToken.END_ARRAY) break;
        if (t == null) {
          sink.bad(new BadRecordException("malformed_json", name + ":" + (p.currentLocation().getLineNr() + lineOffset),
              "unexpected end of file inside the JSON array"));
          return;
        }
        long line = p.currentTokenLocation().getLineNr() + lineOffset;
        int col = p.currentTokenLocation().getColumnNr();
        long start = p.currentTokenLocation().getByteOffset();
        String where = name + ":" + line + ":" + col + " (element " + index++ + ")";
        if (t != JsonToken.START_OBJECT) {
          p.skipChildren();
          sink.bad(new BadRecordException("wrong_type", where, "array element is not a JSON object"));
          continue;
        }
        JsonNode node = mapper.readTree(p);
        long end = p.currentLocation().getByteOffset();
        if (start >= 0 && end - start > maxRecordBytes) {
          sink.bad(new BadRecordException("record_too_large", where,
              "element is " + (end - start) + " bytes, over the cap of " + maxRecordBytes + " (--max_record_bytes)"));
          continue;
        }
        sink.record((ObjectNode) node, where);
      }
      if (p.nextToken() != null) {
        sink.bad(new BadRecordException("malformed_json", name + ":" + (p.currentTokenLocation().getLineNr() + lineOffset) + ":"
            + p.currentTokenLocation().getColumnNr(), "unexpected content after the JSON array"));
      }
    } catch (JsonProcessingException e) {
      String loc = e.getLocation() == null ? name : name + ":" + (e.getLocation().getLineNr() + lineOffset) + ":" + e.getLocation().getColumnNr();
      String reason = e instanceof StreamConstraintsException ? "record_too_large"
          : e.getOriginalMessage() != null && e.getOriginalMessage().contains("UTF-8") ? "invalid_utf8" : "malformed_json";
      sink.bad(new BadRecordException(reason, loc, e.getOriginalMessage() + " (rest of the JSON array not read)"));
    }
  }

  private static String kind(JsonNode n) {
    return n.isArray() ? "array" : n.isTextual() ? "string" : n.isNumber() ? "number" : n.isBoolean() ? "boolean" : "null";
  }

  private static boolean isBlank(byte[] b, int n) {
    for (int i = 0; i < n; i++) {
      byte c = b[i];
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
    }
    return true;
  }

  /** Newline-delimited reader with a byte cap per line; skips (without storing) the tail of a longer line. */
  static final class LineReader {
    private final InputStream in;
    private final int cap;
    private final byte[] chunk = new byte[1 << 16];
    private int pos, lim;
    private byte[] line = new byte[1 << 12];
    private long lineNo;
    private boolean tooLong;
    private boolean bomChecked;

    LineReader(InputStream in, int cap) {
      this.in = in;
      this.cap = cap;
    }

    private boolean fill() throws IOException {
      int r = in.read(chunk, 0, chunk.length);
      if (r <= 0) return false;
      pos = 0;
      lim = r;
      return true;
    }

    /** First non-whitespace byte of the stream (after a UTF-8 BOM), without consuming it; -1 if none. */
    int peekFirstNonWhitespace() throws IOException {
      skipBom();
      while (true) {
        while (pos < lim) {
          byte c = chunk[pos];
          if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return c & 0xff;
          if (c == '\n') lineNo++;
          pos++;
        }
        if (!fill()) return -1;
      }
    }

    private void skipBom() throws IOException {
      if (bomChecked) return;
      bomChecked = true;
      while (lim - pos < 3) {
        int r = in.read(chunk, lim, chunk.length - lim);
        if (r <= 0) break;
        lim += r;
      }
      if (lim - pos >= 3 && (chunk[pos] & 0xff) == 0xEF && (chunk[pos + 1] & 0xff) == 0xBB && (chunk[pos + 2] & 0xff) == 0xBF) pos += 3;
    }

    /** The unread bytes (buffered + stream) for the JSON-array parser; line numbers restart there. */
    InputStream rest() {
      InputStream buffered = new java.io.ByteArrayInputStream(chunk, pos, lim - pos);
      // SequenceInputStream closes each part at its end; the file must stay open (drained for its hash).
      InputStream keepOpen = new java.io.FilterInputStream(in) {
        @Override public void close() { }
      };
      return new java.io.SequenceInputStream(buffered, keepOpen);
    }

    long lineNumber() { return lineNo; }
    boolean tooLong() { return tooLong; }
    byte[] buffer() { return line; }

    /** Reads the next line into buffer() and returns its length (no newline), or -1 at end of stream. */
    int next() throws IOException {
      skipBom();
      int n = 0;
      tooLong = false;
      boolean any = false;
      while (true) {
        if (pos >= lim && !fill()) {
          if (!any) return -1;
          lineNo++;
          return tooLong ? 0 : n;
        }
        any = true;
        int start = pos;
        int nl = -1;
        for (int i = pos; i < lim; i++) {
          if (chunk[i] == '\n') { nl = i; break; }
        }
        int end = nl < 0 ? lim : nl;
        int len = end - start;
        if (!tooLong) {
          if ((long) n + len > cap) {
            tooLong = true;
          } else {
            if (n + len > line.length) line = java.util.Arrays.copyOf(line, Math.min(cap, Math.max(n + len, line.length * 2)));
            System.arraycopy(chunk, start, line, n, len);
            n += len;
          }
        }
        if (nl >= 0) {
          pos = nl + 1;
          lineNo++;
          if (!tooLong && n > 0 && line[n - 1] == '\r') n--;
          return tooLong ? 0 : n;
        }
        pos = lim;
      }
    }
  }
}
