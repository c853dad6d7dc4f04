package io.rewardkit.data;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rewardkit.RewardKitException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A Hugging Face {@code tokenizer.json} through DJL's binding of the Rust tokenizers library.
 * DJL defaults to truncation at 512 tokens and pads batches: both are switched off here, and no
 * special tokens are added (the chat template writes them). Loads fully offline.
 *
 * <p>Reads beside tokenizer.json: tokenizer_config.json (eos_token, chat_template) and
 * chat_template.jinja (takes precedence over the config's template, as in transformers).
 */
public final class HfTokenizer implements Tokenizer {
  private final HuggingFaceTokenizer tok;
  private final String name;
  private final String hash;
  private final String eos;
  private final String pad;
  private final String bos;
  private final String template;
  private final int vocabSize;
  private final Map<String, Integer> addedTokens;

  private HfTokenizer(HuggingFaceTokenizer tok, String name, String hash, String eos, String pad, String bos, String template,
      int vocabSize, Map<String, Integer> addedTokens) {
    this.pad = pad;
    this.bos = bos;
    this.tok = tok;
    this.name = name;
    this.hash = hash;
    this.eos = eos;
    this.template = template;
    this.vocabSize = vocabSize;
    this.addedTokens = addedTokens;
  }

  /** Loads from a directory holding tokenizer.json, or from the tokenizer.json file itself. */
  public static HfTokenizer load(Path path) {
    Path dir = Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
    Path json = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
    if (!Files.isRegularFile(json)) throw new RewardKitException("tokenizer not found: " + json);
    if (!Files.isReadable(json)) throw new RewardKitException("tokenizer is not readable: " + json);
    Path config = dir.resolve("tokenizer_config.json");
    Path jinja = dir.resolve("chat_template.jinja");
    try {
      MessageDigest sha = Sha256.newDigest();
      byte[] jsonBytes = Files.readAllBytes(json);
      sha.update(jsonBytes);
      String eos = null;
      String pad = null;
      String bos = null;
      String template = null;
      if (Files.isRegularFile(config)) {
        byte[] cfgBytes = Files.readAllBytes(config);
        JsonNode cfg;
        try {
          cfg = new ObjectMapper().readTree(cfgBytes);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
          throw new RewardKitException(config + ": not valid JSON (line " + (e.getLocation() == null ? 0 : e.getLocation().getLineNr())
              + "): " + io.rewardkit.config.JsonErrors.message(e));
        }
        if (!cfg.isObject()) throw new RewardKitException(config + ": not a JSON object");
        eos = tokenString(cfg.get("eos_token"));
        pad = tokenString(cfg.get("pad_token"));
        bos = tokenString(cfg.get("bos_token"));
        JsonNode t = cfg.get("chat_template");
        if (t != null && t.isTextual()) template = t.asText();
        else if (t != null && t.isArray()) template = namedTemplate(t, "default");
      }
      if (Files.isRegularFile(jinja)) {
        byte[] tb = Files.readAllBytes(jinja);
        template = new String(tb, StandardCharsets.UTF_8);
      }
      // The identity is what changes encoding: tokenizer.json, the EOS token and the chat template;
      // not tokenizer_config.json's bytes (a checkpoint rewrites its pad_token), so a model's copy of
      // the tokenizer matches the prepared cache made with the original.
      sha.update(("\0eos:" + eos + "\0template:" + template).getBytes(StandardCharsets.UTF_8));
      Map<String, Integer> added = new HashMap<>();
      int vocab = scanVocab(jsonBytes, added);
      HuggingFaceTokenizer t;
      try (InputStream in = new java.io.ByteArrayInputStream(jsonBytes)) {
        Map<String, String> opts = new HashMap<>();
        opts.put("addSpecialTokens", "false");
        opts.put("truncation", "false");
        opts.put("padding", "false");
        t = HuggingFaceTokenizer.newInstance(in, opts);
      }
      if (!"DO_NOT_TRUNCATE".equals(t.getTruncation()) || !"DO_NOT_PAD".equals(t.getPadding())) {
        t.close();
        throw new IllegalStateException("DJL tokenizer still truncates (" + t.getTruncation() + ") or pads (" + t.getPadding() + ")");
      }
      return new HfTokenizer(t, json.toString(), Sha256.hex(sha.digest()), eos, pad, bos, template, vocab, added);
    } catch (IOException e) {
      throw new RewardKitException("cannot load tokenizer " + json + ": " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j
          ? io.rewardkit.config.JsonErrors.message(j) : e.getMessage()), e);
    }
  }

  private static String tokenString(JsonNode n) {
    if (n == null || n.isNull()) return null;
    if (n.isTextual()) return n.asText();
    if (n.isObject() && n.path("content").isTextual()) return n.get("content").asText();
    return null;
  }

  private static String namedTemplate(JsonNode list, String wanted) {
    for (JsonNode e : list) if (wanted.equals(e.path("name").asText())) return e.path("template").asText(null);
    return null;
  }

  /** Streams tokenizer.json for model.vocab size and added_tokens (content to id); returns vocab size. */
  private static int scanVocab(byte[] json, Map<String, Integer> added) throws IOException {
    JsonFactory f = JsonFactory.builder().streamReadConstraints(
        StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build()).build();
    ObjectMapper m = new ObjectMapper(f);
    int maxId = -1;
    try (JsonParser p = f.createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) throw new IOException("tokenizer.json is not a JSON object");
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        p.nextToken();
        if (field.equals("added_tokens") && p.currentToken() == JsonToken.START_ARRAY) {
          JsonNode arr = m.readTree(p);
          for (JsonNode t : arr) {
            int id = t.path("id").asInt(-1);
            if (id >= 0) {
              added.put(t.path("content").asText(), id);
              maxId = Math.max(maxId, id);
            }
          }
        } else if (field.equals("model") && p.currentToken() == JsonToken.START_OBJECT) {
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String mf = p.currentName();
            p.nextToken();
            if (mf.equals("vocab") && p.currentToken() == JsonToken.START_OBJECT) {
              while (p.nextToken() == JsonToken.FIELD_NAME) {
                p.nextToken();
                maxId = Math.max(maxId, p.getIntValue());
              }
            } else {
              p.skipChildren();
            }
          }
        } else {
          p.skipChildren();
        }
      }
    }
    return maxId + 1;
  }

  @Override
  public int[] encode(String text) {
    return toInts(tok.encode(text, false, false).getIds());
  }

  @Override
  public List<int[]> encodeBatch(List<String> texts) {
    if (texts.isEmpty()) return List.of();
    Encoding[] enc = tok.batchEncode(texts.toArray(new String[0]), false, false);
    List<int[]> out = new ArrayList<>(enc.length);
    for (Encoding e : enc) out.add(toInts(e.getIds()));
    return out;
  }

  private static int[] toInts(long[] ids) {
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) out[i] = (int) ids[i];
    return out;
  }

  @Override public int vocabSize() { return vocabSize; }

  @Override
  public OptionalInt tokenId(String token) {
    Integer id = addedTokens.get(token);
    if (id != null) return OptionalInt.of(id);
    int[] ids = encode(token);
    return ids.length == 1 ? OptionalInt.of(ids[0]) : OptionalInt.empty();
  }

  /** Decodes ids (special tokens kept); for tests and debugging. */
  public String decode(int[] ids) {
    long[] l = new long[ids.length];
    for (int i = 0; i < ids.length; i++) l[i] = ids[i];
    return tok.decode(l, false);
  }

  @Override public String eosToken() { return eos; }
  @Override public String padToken() { return pad; }
  @Override public String bosToken() { return bos; }
  @Override public Map<String, Integer> addedTokens() { return Map.copyOf(addedTokens); }
  @Override public String chatTemplate() { return template; }
  @Override public String hash() { return hash; }
  @Override public String name() { return name; }

  /** The directory the tokenizer files were read from. */
  public Path directory() { return Path.of(name).toAbsolutePath().getParent(); }

  @Override
  public void close() { tok.close(); }
}
