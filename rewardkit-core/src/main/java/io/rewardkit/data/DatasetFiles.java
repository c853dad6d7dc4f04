package io.rewardkit.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.rewardkit.RewardKitException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The files of one dataset argument, and what each file is. An argument is a file; a directory
 * (its data files sorted by path); a {@code datasets.save_to_disk} folder (its {@code state.json}
 * shards, or one split of a DatasetDict); or {@code ORG/NAME} found in the local Hugging Face Hub
 * cache, where the split and config are chosen as {@code datasets.load_dataset} would (the README's
 * {@code configs:} data_files, else the split in the file names). Offline only: nothing is downloaded.
 * File kinds come from magic bytes, never from names, so a Parquet file is never read as JSONL.
 */
final class DatasetFiles {
  private DatasetFiles() {}

  enum Kind { JSON, PARQUET, ARROW_STREAM, ARROW_FILE }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Pattern REPO_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*");
  private static final List<String> SPLIT_NAMES = List.of("train", "test", "validation", "valid", "dev", "eval");
  /** JSON files of datasets / the Hub that describe a dataset rather than hold its rows. */
  private static final java.util.Set<String> METADATA = java.util.Set.of("dataset_info.json", "dataset_infos.json", "state.json",
      "dataset_dict.json", "croissant.json");

  /** System property that overrides the Hub cache folder (for tests and for JVM users); then HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub. */
  static final String HUB_CACHE_PROPERTY = "rewardkit.hf_hub_cache";

  static Kind kind(Path file) {
    byte[] head = new byte[6];
    int n;
    try (InputStream in = Files.newInputStream(file)) {
      n = in.readNBytes(head, 0, 6);
    } catch (IOException e) {
      return Kind.JSON; // the JSON reader reports the problem with its usual message
    }
    if (n >= 4 && head[0] == 'P' && head[1] == 'A' && head[2] == 'R' && head[3] == '1') return Kind.PARQUET;
    if (n >= 6 && new String(head, 0, 6, java.nio.charset.StandardCharsets.ISO_8859_1).equals("ARROW1")) return Kind.ARROW_FILE;
    if (n >= 4 && (head[0] & 0xff) == 0xff && (head[1] & 0xff) == 0xff && (head[2] & 0xff) == 0xff && (head[3] & 0xff) == 0xff) {
      return Kind.ARROW_STREAM;
    }
    return Kind.JSON;
  }

  static boolean looksLikeData(Path p) {
    String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
    return JsonRecordReader.looksLikeData(p) || n.endsWith(".parquet") || n.endsWith(".arrow");
  }

  /** Files of one dataset argument, all checked readable before any is read. */
  static List<Path> expand(Path input, DataOptions o) {
    List<Path> files;
    if (!Files.exists(input)) {
      String s = input.toString();
      if (REPO_ID.matcher(s).matches()) files = hubCache(s, o, hubCacheRoot());
      else throw new RewardKitException("input not found: " + input);
    } else if (!Files.isReadable(input)) {
      throw new RewardKitException("input is not readable (permission denied): " + input);
    } else if (!Files.isDirectory(input)) {
      files = List.of(input);
    } else {
      files = directory(input, o);
    }
    for (Path p : files) {
      if (!Files.isReadable(p)) throw new RewardKitException("input is not readable (permission denied): " + p);
    }
    return files;
  }

  private static List<Path> directory(Path dir, DataOptions o) {
    if (Files.isRegularFile(dir.resolve("dataset_dict.json"))) return saveToDiskDict(dir, o);
    if (Files.isRegularFile(dir.resolve("state.json")) && Files.isRegularFile(dir.resolve("dataset_info.json"))) {
      return saveToDisk(dir);
    }
    if (Files.isRegularFile(dir.resolve("README.md")) && readmeConfigs(dir) != null) {
      return hubLayout(dir, dir.toString(), o);
    }
    List<Path> files = walk(dir);
    if (files.isEmpty()) {
      throw new RewardKitException("directory " + dir + " has no .jsonl, .json, .jsonl.gz, .json.gz, .parquet or .arrow files");
    }
    if (o.datasetSplit() != null) return bySplitInName(dir, dir.toString(), files, o.datasetSplit());
    return files;
  }

  private static List<Path> walk(Path dir) {
    List<Path> files = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.filter(Files::isRegularFile).filter(DatasetFiles::looksLikeData)
          .filter(p -> !Files.isRegularFile(p.resolveSibling("pairs.bin"))) // a prepared cache's manifest is not data
          .filter(p -> !METADATA.contains(p.getFileName().toString()))
          .sorted().forEach(files::add);
    } catch (IOException | java.io.UncheckedIOException e) {
      throw new RewardKitException("cannot list directory " + dir + ": " + e.getMessage(), e);
    }
    return files;
  }

  // ---- datasets.save_to_disk ----

  private static List<Path> saveToDisk(Path dir) {
    JsonNode state = readJson(dir.resolve("state.json"));
    JsonNode files = state.path("_data_files");
    if (!files.isArray() || files.isEmpty()) throw new RewardKitException(dir.resolve("state.json") + ": no _data_files listed");
    List<Path> out = new ArrayList<>();
    for (JsonNode f : files) {
      Path p = dir.resolve(f.path("filename").asText(""));
      if (!Files.isRegularFile(p)) throw new RewardKitException(dir.resolve("state.json") + " lists " + p.getFileName() + ", which is missing");
      out.add(p);
    }
    return out;
  }

  private static List<Path> saveToDiskDict(Path dir, DataOptions o) {
    JsonNode dict = readJson(dir.resolve("dataset_dict.json"));
    List<String> splits = new ArrayList<>();
    dict.path("splits").forEach(s -> splits.add(s.asText()));
    String split = o.datasetSplit() == null ? "train" : o.datasetSplit();
    if (!splits.contains(split)) {
      throw new RewardKitException(dir + " (datasets.save_to_disk DatasetDict) has no split '" + split + "'; splits: " + splits
          + " (choose one with --dataset_split)");
    }
    return saveToDisk(dir.resolve(split));
  }

  private static JsonNode readJson(Path p) {
    try {
      return JSON.readTree(p.toFile());
    } catch (IOException e) {
      throw new RewardKitException("cannot read " + p + ": " + e.getMessage(), e);
    }
  }

  // ---- Hugging Face Hub cache ----

  static Path hubCacheRoot() {
    String prop = System.getProperty(HUB_CACHE_PROPERTY);
    if (prop != null && !prop.isBlank()) return Path.of(prop);
    String env = System.getenv("HF_HUB_CACHE");
    if (env != null && !env.isBlank()) return Path.of(env);
    String home = System.getenv("HF_HOME");
    if (home != null && !home.isBlank()) return Path.of(home, "hub");
    return Path.of(System.getProperty("user.home"), ".cache", "huggingface", "hub");
  }

  static List<Path> hubCache(String repoId, DataOptions o, Path root) {
    Path repo = root.resolve("datasets--" + repoId.replace("/", "--"));
    if (!Files.isDirectory(repo.resolve("snapshots"))) {
      throw new RewardKitException("dataset " + repoId + " is neither a local path nor in the Hugging Face cache (looked in "
          + repo + "); RewardKit reads offline only: download it first, e.g. huggingface-cli download --repo-type dataset "
          + repoId + ", or pass a local file or folder");
    }
    Path snapshot;
    Path ref = repo.resolve("refs").resolve("main");
    try {
      if (Files.isRegularFile(ref)) {
        snapshot = repo.resolve("snapshots").resolve(Files.readString(ref).trim());
        if (!Files.isDirectory(snapshot)) throw new RewardKitException(ref + " names revision " + snapshot.getFileName() + ", which is not in " + repo.resolve("snapshots"));
      } else {
        List<Path> revs;
        try (Stream<Path> s = Files.list(repo.resolve("snapshots"))) {
          revs = s.filter(Files::isDirectory).sorted().toList();
        }
        if (revs.size() != 1) {
          throw new RewardKitException(repo + " has no refs/main and " + revs.size() + " snapshots " + revs.stream().map(p -> p.getFileName().toString()).toList()
              + ": pass the snapshot folder you mean as the dataset path");
        }
        snapshot = revs.get(0);
      }
    } catch (IOException e) {
      throw new RewardKitException("cannot read the Hugging Face cache entry " + repo + ": " + e.getMessage(), e);
    }
    return hubLayout(snapshot, repoId + " (" + snapshot + ")", o);
  }

  /** A Hub dataset repository's folder: the README's configs when it has them, else splits from file names. */
  static List<Path> hubLayout(Path dir, String what, DataOptions o) {
    String split = o.datasetSplit() == null ? "train" : o.datasetSplit();
    JsonNode configs = readmeConfigs(dir);
    if (configs == null) {
      List<Path> files = walk(dir);
      if (o.datasetConfig() != null) {
        Path sub = dir.resolve(o.datasetConfig());
        if (!Files.isDirectory(sub)) {
          throw new RewardKitException(what + " has no config '" + o.datasetConfig() + "' (folders: " + topFolders(files, dir) + ")");
        }
        files = files.stream().filter(p -> p.startsWith(sub)).toList();
      }
      if (files.isEmpty()) throw new RewardKitException(what + " has no data files (.parquet, .arrow, .jsonl, .json)");
      return bySplitInName(dir, what, files, split);
    }
    JsonNode config = null;
    List<String> names = new ArrayList<>();
    for (JsonNode c : configs) names.add(c.path("config_name").asText("default"));
    if (o.datasetConfig() != null) {
      for (JsonNode c : configs) if (c.path("config_name").asText("default").equals(o.datasetConfig())) config = c;
      if (config == null) throw new RewardKitException(what + " has no config '" + o.datasetConfig() + "'; configs: " + names);
    } else {
      for (JsonNode c : configs) if (c.path("default").asBoolean(false)) config = c;
      if (config == null) for (JsonNode c : configs) if (c.path("config_name").asText("default").equals("default")) config = c;
      if (config == null && configs.size() == 1) config = configs.get(0);
      if (config == null) throw new RewardKitException(what + " has several configs " + names + ": choose one with --dataset_config");
    }
    Map<String, List<String>> splits = new LinkedHashMap<>();
    JsonNode df = config.path("data_files");
    if (df.isTextual()) splits.put("train", List.of(df.asText()));
    else if (df.isArray()) {
      for (JsonNode e : df) {
        if (e.isTextual()) splits.computeIfAbsent("train", k -> new ArrayList<>()).add(e.asText());
        else {
          List<String> pats = splits.computeIfAbsent(e.path("split").asText("train"), k -> new ArrayList<>());
          JsonNode path = e.path("path");
          if (path.isArray()) path.forEach(x -> pats.add(x.asText()));
          else pats.add(path.asText());
        }
      }
    } else if (df.isObject()) {
      df.fields().forEachRemaining(e -> {
        List<String> pats = splits.computeIfAbsent(e.getKey(), k -> new ArrayList<>());
        if (e.getValue().isArray()) e.getValue().forEach(x -> pats.add(x.asText()));
        else pats.add(e.getValue().asText());
      });
    }
    List<String> patterns = splits.get(split);
    if (patterns == null) {
      throw new RewardKitException(what + " config '" + config.path("config_name").asText("default") + "' has no split '" + split
          + "'; splits: " + splits.keySet() + " (choose one with --dataset_split)");
    }
    List<Path> all = walk(dir);
    List<Path> out = new ArrayList<>();
    for (String pat : patterns) {
      PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + pat);
      for (Path p : all) if (m.matches(dir.relativize(p)) && !out.contains(p)) out.add(p);
    }
    if (out.isEmpty()) {
      throw new RewardKitException(what + ": split '" + split + "' lists " + patterns + ", but no such files are in " + dir
          + " (partly downloaded? fetch the files of that split)");
    }
    return out;
  }

  /** The README.md YAML header's configs list, or null. */
  private static JsonNode readmeConfigs(Path dir) {
    Path readme = dir.resolve("README.md");
    if (!Files.isRegularFile(readme)) return null;
    try {
      String text = Files.readString(readme);
      if (!text.startsWith("---")) return null;
      int end = text.indexOf("\n---", 3);
      if (end < 0) return null;
      JsonNode header = YAML.readTree(text.substring(3, end));
      JsonNode configs = header == null ? null : header.get("configs");
      return configs != null && configs.isArray() && !configs.isEmpty() ? configs : null;
    } catch (IOException e) {
      throw new RewardKitException(readme + ": cannot read its YAML header: " + e.getMessage(), e);
    }
  }

  /** datasets' naming rule: the split is a folder name or the file name's first word (train-00000-of-00001.parquet). */
  private static List<Path> bySplitInName(Path dir, String what, List<Path> files, String split) {
    TreeSet<String> seen = new TreeSet<>();
    List<Path> out = new ArrayList<>();
    for (Path p : files) {
      String s = splitOf(dir.relativize(p), split);
      if (s != null) seen.add(s);
      if (split.equals(s)) out.add(p);
    }
    if (seen.isEmpty() && split.equals("train")) return files; // no split in any name: all of it is train
    if (out.isEmpty()) {
      throw new RewardKitException(what + " has no files of split '" + split + "'; splits seen in file names: " + seen
          + " (choose one with --dataset_split)");
    }
    return out;
  }

  private static String splitOf(Path rel, String wanted) {
    String file = rel.getFileName().toString();
    for (int i = rel.getNameCount() - 1; i >= 0; i--) {
      String part = i == rel.getNameCount() - 1 ? file.split("[-.]", 2)[0] : rel.getName(i).toString();
      if (part.equals(wanted)) return part;
      String word = part.split("[-._ ]", 2)[0];
      if (SPLIT_NAMES.contains(word)) return word;
    }
    return null;
  }

  private static List<String> topFolders(List<Path> files, Path dir) {
    TreeSet<String> s = new TreeSet<>();
    for (Path p : files) if (dir.relativize(p).getNameCount() > 1) s.add(dir.relativize(p).getName(0).toString());
    return new ArrayList<>(s);
  }
}
