package io.rewardkit.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.rewardkit.RewardKitException;
import io.rewardkit.UsageException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A --config YAML file, read strictly: the top level must be a mapping of option names (as on the
 * command line, without dashes) to values; unknown keys, duplicate keys and badly typed values are
 * usage errors naming the file, line and key. Keys of other tools (TRL, OpenRLHF) that RewardKit
 * does not take produce a note with the equivalent instead of an error.
 */
public final class ConfigFile {
  private ConfigFile() {}

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  /** Overlays the file's values on {@code v} (as given values); notes go to {@code notes}. */
  public static void apply(Path file, OptionValues v, List<String> notes) {
    if (!Files.isRegularFile(file)) throw new UsageException("--config: not found: " + file);
    Cmd cmd = v.cmd();
    Map<String, Integer> seen = new HashMap<>();
    Map<String, String> setBy = new HashMap<>();
    try (JsonParser p = YAML.createParser(file.toFile())) {
      JsonToken t = p.nextToken();
      if (t == null) throw new UsageException(file + ": empty (expected a mapping of option: value)");
      if (t != JsonToken.START_OBJECT) {
        throw new UsageException(file + ": line " + line(p.currentTokenLocation())
            + ": the top level must be a mapping of option: value, got " + (t == JsonToken.START_ARRAY ? "a list" : "a single value"));
      }
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        String key = p.currentName();
        int line = line(p.currentTokenLocation());
        String where = file + ": line " + line + ": " + key;
        Integer first = seen.putIfAbsent(key, line);
        if (first != null) throw new UsageException(where + ": key given twice (first on line " + first + ")");
        p.nextToken();
        JsonNode value = p.readValueAsTree();
        if (value == null) value = com.fasterxml.jackson.databind.node.NullNode.instance;
        Options.Resolved r = Options.lookup(cmd, key);
        if (r == null) {
          if (Options.FOREIGN.containsKey(key)) {
            notes.add(file + ": line " + line + ": " + key + " is ignored: " + Options.FOREIGN.get(key));
            continue;
          }
          if (isOptionElsewhere(key)) {
            notes.add(file + ": line " + line + ": " + key + " is not used by " + cmd.cliName());
            continue;
          }
          String s = Options.suggest(cmd, key);
          throw new UsageException(where + ": unknown option" + (s == null ? "" : " (did you mean " + s + "?)"));
        }
        Opt o = r.opt();
        if (o.name().equals("config")) throw new UsageException(where + ": a config file cannot name another one");
        if (r.old()) notes.add(file + ": line " + line + ": " + key + " is now " + o.name());
        String prev = setBy.putIfAbsent(o.name(), key);
        if (prev != null) throw new UsageException(where + ": the same option as '" + prev + "' (" + o.name() + ") given twice");
        Object typed = o.fromYaml(value, where);
        o.checkInput(typed, where);
        v.give(o.name(), typed, file + ":" + line);
      }
      if (t != JsonToken.END_OBJECT) throw new UsageException(file + ": unexpected content at line " + line(p.currentTokenLocation()));
      if (p.nextToken() != null) throw new UsageException(file + ": more than one YAML document");
    } catch (JsonProcessingException e) {
      throw new UsageException(file + ": line " + line(e.getLocation()) + ": not valid YAML: " + JsonErrors.message(e));
    } catch (IOException e) {
      throw new RewardKitException("cannot read " + file + ": " + e.getMessage());
    }
  }

  private static boolean isOptionElsewhere(String key) {
    for (Cmd c : Cmd.values()) if (Options.lookup(c, key) != null) return true;
    return false;
  }

  private static int line(JsonLocation loc) { return loc == null ? 0 : loc.getLineNr(); }
}
