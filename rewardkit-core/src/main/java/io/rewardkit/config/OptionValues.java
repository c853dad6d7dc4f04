package io.rewardkit.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The typed values of one command's options: registry defaults, then a --config file, then the
 * command line (later layers win), plus where each given value came from.
 */
public final class OptionValues {
  private final Cmd cmd;
  private final Map<String, Object> values = new LinkedHashMap<>();
  private final Map<String, String> source = new LinkedHashMap<>();
  private final Set<String> given = new LinkedHashSet<>();

  /** The defaults of a command's options. */
  public OptionValues(Cmd cmd) {
    this.cmd = cmd;
    for (Opt o : Options.of(cmd)) {
      values.put(o.name(), o.defaultValue());
      source.put(o.name(), "default");
    }
  }

  public Cmd cmd() { return cmd; }

  /** Sets a value given by the user (config file or command line). */
  public OptionValues give(String name, Object value, String from) {
    set(name, value, from);
    given.add(name);
    return this;
  }

  /** Sets a value that was not given by the user (e.g. adopted from a prepared cache). */
  public OptionValues set(String name, Object value, String from) {
    Opt o = Options.get(name);
    if (!o.takes(cmd)) throw new IllegalArgumentException("--" + name + " is not an option of " + cmd.cliName());
    values.put(name, value);
    source.put(name, from);
    return this;
  }

  /** True when the user gave the option (in --config or on the command line). */
  public boolean given(String name) { return given.contains(name); }
  public Set<String> givenNames() { return Collections.unmodifiableSet(given); }
  /** "default", "command line", "run.yaml:3", "prepared cache DIR", ... */
  public String source(String name) { return source.get(name); }

  public Object get(String name) {
    if (!values.containsKey(name)) throw new IllegalArgumentException("--" + name + " is not an option of " + cmd.cliName());
    return values.get(name);
  }

  public String getString(String name) { Object v = get(name); return v == null ? null : v.toString(); }
  public int getInt(String name) { return ((Number) get(name)).intValue(); }
  public long getLong(String name) { return ((Number) get(name)).longValue(); }
  public double getDouble(String name) { return ((Number) get(name)).doubleValue(); }
  public boolean getBool(String name) { return (Boolean) get(name); }

  @SuppressWarnings("unchecked")
  public List<String> getList(String name) {
    Object v = get(name);
    return v == null ? List.of() : (List<String>) v;
  }

  /** All values by name (unset ones as null), in help order. */
  public Map<String, Object> asMap() { return Collections.unmodifiableMap(values); }
}
