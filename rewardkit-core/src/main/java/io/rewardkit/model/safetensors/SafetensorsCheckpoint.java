package io.rewardkit.model.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rewardkit.RewardKitException;
import io.rewardkit.io.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The weights of an HF checkpoint directory: either one {@code model.safetensors} or shards listed
 * by {@code model.safetensors.index.json} ({@code weight_map: tensor name -> shard file}).
 * Reading cross-checks the index against the shards; writing shards above a size limit.
 */
public final class SafetensorsCheckpoint implements AutoCloseable {
  public static final String SINGLE = "model.safetensors";
  public static final String INDEX = "model.safetensors.index.json";

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .enable(SerializationFeature.INDENT_OUTPUT);

  private final Map<String, SafetensorsFile> byTensor;
  private final List<SafetensorsFile> files;

  private SafetensorsCheckpoint(Map<String, SafetensorsFile> byTensor, List<SafetensorsFile> files) {
    this.byTensor = byTensor;
    this.files = files;
  }

  /** Opens the weights of checkpoint directory {@code dir} (index first, else the single file). */
  public static SafetensorsCheckpoint open(Path dir) {
    Path index = dir.resolve(INDEX);
    if (Files.isRegularFile(index)) return openIndexed(dir, index);
    Path single = dir.resolve(SINGLE);
    if (!Files.isRegularFile(single)) {
      throw new RewardKitException(dir + ": no " + SINGLE + " or " + INDEX + " (only safetensors checkpoints are supported)");
    }
    SafetensorsFile f = SafetensorsFile.open(single);
    Map<String, SafetensorsFile> map = new LinkedHashMap<>();
    for (String name : f.entries().keySet()) map.put(name, f);
    return new SafetensorsCheckpoint(map, List.of(f));
  }

  private static SafetensorsCheckpoint openIndexed(Path dir, Path index) {
    JsonNode root;
    try {
      root = JSON.readTree(Files.readString(index, StandardCharsets.UTF_8));
    } catch (JsonProcessingException e) {
      throw new RewardKitException(index + ": " + io.rewardkit.config.JsonErrors.describe(e));
    } catch (IOException e) {
      throw new RewardKitException(index + ": cannot read: " + e.getMessage(), e);
    }
    JsonNode wm = root == null ? null : root.get("weight_map");
    if (wm == null || !wm.isObject()) throw new RewardKitException(index + ": field 'weight_map' missing or not an object");
    Map<String, String> weightMap = new LinkedHashMap<>();
    Iterator<Map.Entry<String, JsonNode>> it = wm.properties().iterator();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw new RewardKitException(index + ": field 'weight_map." + e.getKey() + "' must be a file name");
      }
      String shard = e.getValue().textValue();
      if (shard.contains("/") || shard.contains("\\") || shard.equals("..")) {
        throw new RewardKitException(index + ": field 'weight_map." + e.getKey() + "': shard '" + shard + "' is not a plain file name");
      }
      weightMap.put(e.getKey(), shard);
    }
    Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
    List<SafetensorsFile> opened = new ArrayList<>();
    try {
      for (Map.Entry<String, String> e : weightMap.entrySet()) {
        String shard = e.getValue();
        if (!shards.containsKey(shard)) {
          Path p = dir.resolve(shard);
          if (!Files.isRegularFile(p)) {
            throw new RewardKitException(index + ": shard '" + shard + "' (holding tensor '" + e.getKey() + "') does not exist");
          }
          SafetensorsFile f = SafetensorsFile.open(p);
          shards.put(shard, f);
          opened.add(f);
        }
      }
      Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
      for (Map.Entry<String, String> e : weightMap.entrySet()) {
        SafetensorsFile f = shards.get(e.getValue());
        if (!f.entries().containsKey(e.getKey())) {
          throw new RewardKitException(index + ": tensor '" + e.getKey() + "' is mapped to " + e.getValue() + " but that shard lacks it");
        }
        byTensor.put(e.getKey(), f);
      }
      for (SafetensorsFile f : opened) {
        for (String name : f.entries().keySet()) {
          if (byTensor.get(name) != f) {
            throw new RewardKitException(f.path() + ": tensor '" + name + "' is not listed for this shard in " + index);
          }
        }
      }
      return new SafetensorsCheckpoint(byTensor, opened);
    } catch (RuntimeException e) {
      opened.forEach(SafetensorsFile::close);
      throw e;
    }
  }

  /** Tensor names, in index (or header) order. */
  public List<String> names() { return List.copyOf(byTensor.keySet()); }

  public boolean has(String name) { return byTensor.containsKey(name); }

  /** The file holding {@code name}. */
  public SafetensorsFile file(String name) {
    SafetensorsFile f = byTensor.get(name);
    if (f == null) throw new RewardKitException("checkpoint has no tensor '" + name + "'");
    return f;
  }

  public SafetensorsFile.Entry entry(String name) { return file(name).entry(name); }

  public List<SafetensorsFile> files() { return Collections.unmodifiableList(files); }

  @Override
  public void close() {
    files.forEach(SafetensorsFile::close);
  }

  // ---- writing --------------------------------------------------------------------------------

  /**
   * Writes {@code tensors} into {@code dir}: one {@code model.safetensors} when their total size is
   * at most {@code shardLimitBytes}, else shards {@code model-0000i-of-0000n.safetensors} of at most
   * that size each (a single larger tensor gets a shard of its own) plus the index. Each file is
   * written atomically; make {@code dir} a fresh directory for an atomic checkpoint.
   */
  public static void write(Path dir, List<SafetensorsWriter.TensorSpec> tensors, long shardLimitBytes) {
    if (shardLimitBytes <= 0) throw new IllegalArgumentException("shard limit must be > 0");
    long total = 0;
    for (SafetensorsWriter.TensorSpec t : tensors) total += t.byteSize();
    Map<String, String> meta = Map.of("format", "pt");
    if (total <= shardLimitBytes) {
      SafetensorsWriter.write(dir.resolve(SINGLE), tensors, meta);
      return;
    }
    List<List<SafetensorsWriter.TensorSpec>> shards = new ArrayList<>();
    List<SafetensorsWriter.TensorSpec> cur = new ArrayList<>();
    long curBytes = 0;
    for (SafetensorsWriter.TensorSpec t : tensors) {
      if (!cur.isEmpty() && curBytes + t.byteSize() > shardLimitBytes) {
        shards.add(cur);
        cur = new ArrayList<>();
        curBytes = 0;
      }
      cur.add(t);
      curBytes += t.byteSize();
    }
    if (!cur.isEmpty()) shards.add(cur);
    Map<String, String> weightMap = new TreeMap<>();
    for (int i = 0; i < shards.size(); i++) {
      String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
      SafetensorsWriter.write(dir.resolve(name), shards.get(i), meta);
      for (SafetensorsWriter.TensorSpec t : shards.get(i)) weightMap.put(t.name(), name);
    }
    ObjectNode root = JsonNodeFactory.instance.objectNode();
    root.putObject("metadata").put("total_size", total);
    ObjectNode wm = root.putObject("weight_map");
    weightMap.forEach(wm::put);
    writeTextAtomically(dir.resolve(INDEX), toJson(root));
  }

  private static String toJson(JsonNode n) {
    try {
      return JSON.writeValueAsString(n) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes a small text file atomically ({@link AtomicFiles}). */
  public static void writeTextAtomically(Path file, String text) {
    try {
      AtomicFiles.writeString(file, text);
    } catch (IOException e) {
      throw new RewardKitException(file + ": cannot write: " + e.getMessage(), e);
    }
  }

}
