package io.rewardkit.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.rewardkit.UsageException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Predicate;

/**
 * One option: its snake_case name, type, default, help, validation and the commands that take it.
 * Declared once in {@link Options}; the command line, the --config YAML and the manifests all read
 * values through {@link #parse} / {@link #fromYaml} and {@link #check}.
 */
public final class Opt {
  /** Value types; PATH and PATHS reject numbers and booleans in YAML (`dataset: 5` is a type error). */
  public enum Type { INT, LONG, DOUBLE, BOOL, STRING, PATH, PATHS }

  private final String name;
  private final Type type;
  private final String defaultText;
  private String defaultHelp;
  private String label;
  private String help = "";
  private List<String> choices = List.of();
  private Predicate<Object> rule;
  private String ruleMessage;
  private final EnumSet<Cmd> commands = EnumSet.noneOf(Cmd.class);
  private boolean data;
  private boolean resumable;
  private boolean mustExist;
  private String fallback;
  private final List<String> aliases = new ArrayList<>();
  private final List<String> oldNames = new ArrayList<>();

  Opt(String name, Type type, String defaultText) {
    this.name = name;
    this.type = type;
    this.defaultText = defaultText;
    this.label = switch (type) {
      case INT, LONG -> "N";
      case DOUBLE -> "X";
      case BOOL -> "BOOL";
      case STRING -> "TEXT";
      case PATH, PATHS -> "PATH";
    };
    if (defaultText != null) parse(defaultText, "default of --" + name); // a bad default fails at class init
  }

  // ---- declaration (used only while Options builds its table) ----

  Opt label(String v) { label = v; return this; }
  Opt help(String v) { help = v; return this; }
  /** Shown instead of a literal default when the default depends on other inputs ("the model's"). */
  Opt defaultHelp(String v) { defaultHelp = v; return this; }
  Opt choices(String... v) { choices = List.of(v); label = String.join("|", v); return this; }
  Opt check(Predicate<Object> p, String message) { rule = p; ruleMessage = message; return this; }
  Opt min(double lo) { return check(v -> ((Number) v).doubleValue() >= lo, "must be >= " + fmt(lo)); }
  Opt on(Cmd... cmds) { Collections.addAll(commands, cmds); return this; }
  /** A data option: stored in prepared caches and checkpoints, adopted from a cache by train. */
  Opt data() { data = true; return this; }
  /** May differ on --resume (applied and logged); everything else must match the checkpoint. */
  Opt resumable() { resumable = true; return this; }
  /** A path that must exist (checked with the other validations: a missing file is a usage error). */
  Opt mustExist() { mustExist = true; return this; }
  /** The option may be given without a value, meaning {@code v} ("--resume" = "--resume latest"). */
  Opt optionalValue(String v) { fallback = v; return this; }
  /** Another tool's name with the same meaning (TRL, OpenRLHF), accepted silently. */
  Opt alias(String... names) { Collections.addAll(aliases, names); return this; }
  /** An older RewardKit spelling, accepted with a note naming the new one. */
  Opt oldName(String... names) { Collections.addAll(oldNames, names); return this; }

  // ---- reading ----

  public String name() { return name; }
  public Type type() { return type; }
  public String label() { return label; }
  public String help() { return help; }
  public List<String> choices() { return choices; }
  public Set<Cmd> commands() { return Collections.unmodifiableSet(commands); }
  public boolean takes(Cmd c) { return commands.contains(c); }
  public boolean isData() { return data; }
  public boolean isResumable() { return resumable; }
  public List<String> aliases() { return Collections.unmodifiableList(aliases); }
  public List<String> oldNames() { return Collections.unmodifiableList(oldNames); }
  public boolean isMulti() { return type == Type.PATHS; }
  /** The value of the option given without one ("true" for booleans), or null when a value is needed. */
  public String fallback() { return type == Type.BOOL ? "true" : fallback; }
  /** The default as text (null: unset). */
  public String defaultText() { return defaultText; }
  /** The default, typed (null: unset). */
  public Object defaultValue() { return defaultText == null ? null : parse(defaultText, "--" + name); }

  /** The help line as every command prints it: text, then "(default: ...)". */
  public String description() {
    String d = defaultHelp != null ? defaultHelp : defaultText == null ? "none" : defaultText.isEmpty() ? "''" : defaultText;
    StringBuilder s = new StringBuilder(help);
    List<String> long_ = aliases.stream().filter(a -> a.length() > 1).toList();
    if (!long_.isEmpty()) s.append(" Also accepted: --").append(String.join(", --", long_)).append('.');
    s.append(" (default: ").append(d).append(')');
    return s.toString();
  }

  /** Parses a command-line / text value; {@code where} names the option (and file and line) in errors. */
  public Object parse(String raw, String where) {
    if (raw == null) throw new UsageException(where + ": needs a value");
    String s = raw.trim();
    Object v = switch (type) {
      case INT -> {
        try {
          yield Integer.parseInt(s);
        } catch (NumberFormatException e) {
          throw new UsageException(where + ": expected an integer, got '" + raw + "'");
        }
      }
      case LONG -> {
        try {
          yield Long.parseLong(s);
        } catch (NumberFormatException e) {
          throw new UsageException(where + ": expected an integer, got '" + raw + "'");
        }
      }
      case DOUBLE -> {
        double d;
        try {
          d = Double.parseDouble(s);
        } catch (NumberFormatException e) {
          throw new UsageException(where + ": expected a number, got '" + raw + "'");
        }
        // Infinity/NaN parse but are never a usable setting (an infinite lr would fail inside the first step)
        if (!Double.isFinite(d)) throw new UsageException(where + ": expected a finite number, got '" + raw + "'");
        yield d;
      }
      case BOOL -> switch (s.toLowerCase(Locale.ROOT)) {
        case "true", "yes", "1" -> Boolean.TRUE;
        case "false", "no", "0" -> Boolean.FALSE;
        default -> throw new UsageException(where + ": expected true or false, got '" + raw + "'");
      };
      case STRING, PATH -> choice(raw, where);
      case PATHS -> List.of(raw);
    };
    check(v, where);
    return v;
  }

  /** Converts a YAML value with the same rules as {@link #parse}, strictly typed (no 2.7 for an integer). */
  public Object fromYaml(JsonNode n, String where) {
    if (n == null || n.isNull() || n.isMissingNode()) throw new UsageException(where + ": has no value");
    switch (type) {
      case INT, LONG -> {
        if (n.isIntegralNumber()) return parse(n.asText(), where);
        if (n.isNumber()) throw new UsageException(where + ": expected an integer, got " + n.asText());
        if (!n.isTextual()) throw new UsageException(where + ": expected an integer, got " + kind(n));
        return parse(n.asText(), where);
      }
      case DOUBLE -> {
        // YAML 1.1 reads 1e-5 (no dot) as a string; accept numeric text, as TRL's argument parser does.
        if (n.isNumber() || n.isTextual()) return parse(n.asText(), where);
        throw new UsageException(where + ": expected a number, got " + kind(n));
      }
      case BOOL -> {
        if (n.isBoolean()) return n.booleanValue();
        if (n.isTextual()) return parse(n.asText(), where);
        throw new UsageException(where + ": expected true or false, got " + kind(n));
      }
      case STRING -> {
        if (n.isValueNode()) return parse(n.asText(), where);
        throw new UsageException(where + ": expected text, got " + kind(n));
      }
      case PATH -> {
        if (n.isTextual()) return parse(n.asText(), where);
        throw new UsageException(where + ": expected a path, got " + kind(n));
      }
      case PATHS -> {
        List<String> out = new ArrayList<>();
        if (n.isTextual()) out.add(n.asText());
        else if (n.isArray() && n.size() > 0) {
          for (JsonNode e : n) {
            if (!e.isTextual()) throw new UsageException(where + ": expected a list of paths, got an element " + kind(e));
            out.add(e.asText());
          }
        } else throw new UsageException(where + ": expected a path or a list of paths, got " + kind(n));
        List<String> v = List.copyOf(out);
        check(v, where);
        return v;
      }
      default -> throw new IllegalStateException(type.name());
    }
  }

  /** Checks a typed value's range or rule; throws {@link UsageException} naming {@code where}. */
  public void check(Object v, String where) {
    if (v == null) return;
    if (rule != null && !rule.test(v)) throw new UsageException(where + " " + ruleMessage + ", got " + show(v));
  }

  /** Checks a value given by the user: its rule, and that a path it names exists. */
  public void checkInput(Object v, String where) {
    check(v, where);
    if (v != null && mustExist) {
      for (Object p : v instanceof List<?> l ? l : List.of(v)) {
        String s = p.toString();
        if (!"byte".equals(s) && !Files.exists(Path.of(s))) throw new UsageException(where + ": not found: " + s);
      }
    }
  }

  private Object choice(String raw, String where) {
    if (choices.isEmpty()) return raw;
    String norm = raw.trim().toLowerCase(Locale.ROOT).replace('-', '_');
    for (String c : choices) if (c.replace('-', '_').equals(norm)) return c;
    throw new UsageException(where + ": must be one of " + String.join(", ", choices) + ", got '" + raw + "'");
  }

  private static String kind(JsonNode n) {
    if (n.isObject()) return "a mapping";
    if (n.isArray()) return "a list";
    if (n.isBoolean()) return "the boolean " + n.asText();
    if (n.isNumber()) return "the number " + n.asText();
    return "'" + n.asText() + "'";
  }

  static String show(Object v) {
    if (v instanceof Double d) return fmt(d);
    return v instanceof String ? "'" + v + "'" : String.valueOf(v);
  }

  static String fmt(double d) {
    return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
  }

  /** A name as typed on the command line: -o, --max_length. */
  public static String flag(String name) { return (name.length() == 1 ? "-" : "--") + name; }

  @Override public String toString() { return "--" + name; }
}
