package io.rewardkit.cli;

import io.rewardkit.UsageException;
import io.rewardkit.config.Cmd;
import io.rewardkit.config.ConfigFile;
import io.rewardkit.config.Opt;
import io.rewardkit.config.OptionValues;
import io.rewardkit.config.Options;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * Puts the registry's options on a picocli command and reads them back as {@link OptionValues}:
 * the one place where command-line options are declared. Aliases (TRL / OpenRLHF names), old
 * spellings and other tools' options without an equivalent are hidden options that map to the
 * registry's names (or to a note).
 */
final class CliOptions {
  private CliOptions() {}

  /** What a picocli option stands for. */
  private record Binding(Opt opt, String typed, boolean old, String foreign) {}

  /** Adds the options of {@code cmd} to {@code spec}. */
  static void install(CommandSpec spec, Cmd cmd) {
    for (Opt o : Options.of(cmd)) {
      List<String> names = Options.names(cmd, o);
      String desc = Options.description(cmd, o);
      spec.addOption(option(o, List.of(Opt.flag(o.name())), desc, false, new Binding(o, o.name(), false, null)));
      for (String n : names.subList(1, names.size())) {
        boolean old = o.oldNames().contains(n);
        spec.addOption(option(o, List.of(Opt.flag(n)), desc, true, new Binding(o, n, old, null)));
      }
    }
    if (cmd == Cmd.PREPARE) {
      // `rewardkit prepare FILE...` as before, the same as --dataset FILE...
      spec.addPositional(PositionalParamSpec.builder().arity("0..*").paramLabel("DATASET").type(List.class)
          .auxiliaryTypes(String.class).description("Same as --dataset.").userObject(
              new Binding(Options.get("dataset"), "dataset", false, null)).build());
    }
    if (cmd == Cmd.TRAIN || cmd == Cmd.EVAL) {
      for (String f : Options.FOREIGN.keySet()) {
        spec.addOption(OptionSpec.builder("--" + f).arity("0..1").fallbackValue("true").type(String.class).hidden(true)
            .userObject(new Binding(null, f, false, Options.FOREIGN.get(f))).build());
      }
    }
  }

  private static OptionSpec option(Opt o, List<String> names, String desc, boolean hidden, Binding b) {
    OptionSpec.Builder ob = OptionSpec.builder(names.toArray(String[]::new)).paramLabel(o.label()).description(desc)
        .hidden(hidden).userObject(b);
    if (o.type() == Opt.Type.PATHS) ob.arity("1..*").type(List.class).auxiliaryTypes(String.class);
    else if (o.fallback() != null) ob.arity("0..1").fallbackValue(o.fallback()).type(String.class);
    else ob.arity("1").type(String.class);
    return ob.build();
  }

  /**
   * The command's option values: registry defaults, then --config, then the command line; notes
   * (other tools' options, old spellings) are printed to {@code err}; the result is validated.
   */
  static OptionValues values(Cmd cmd, CommandSpec spec, PrintWriter err) {
    OptionValues v = new OptionValues(cmd);
    List<String> notes = new ArrayList<>();
    CommandLine.ParseResult pr = spec.commandLine().getParseResult();
    List<OptionSpec> matched = pr.matchedOptions();
    for (OptionSpec os : matched) {
      if (os.userObject() instanceof Binding b && b.opt() != null && b.opt().name().equals("config")) {
        ConfigFile.apply(Path.of((String) os.getValue()), v, notes);
      }
    }
    Map<String, String> setBy = new HashMap<>();
    List<Object> args = new ArrayList<>(matched);
    args.addAll(pr.matchedPositionals());
    for (Object a : args) {
      CommandLine.Model.ArgSpec as = (CommandLine.Model.ArgSpec) a;
      if (!(as.userObject() instanceof Binding b)) continue;
      if (b.foreign() != null) {
        notes.add("--" + b.typed() + " is ignored: " + b.foreign());
        continue;
      }
      Opt o = b.opt();
      if (o.name().equals("config")) continue;
      String flag = as.isOption() ? Opt.flag(b.typed()) : "DATASET";
      String prev = setBy.putIfAbsent(o.name(), flag);
      if (prev != null) throw new UsageException(flag + " and " + prev + " both set --" + o.name() + "; give it once");
      if (b.old()) notes.add(flag + " is now --" + o.name());
      Object raw = as.getValue();
      Object typed;
      if (o.type() == Opt.Type.PATHS) {
        @SuppressWarnings("unchecked") List<String> list = (List<String>) raw;
        typed = List.copyOf(list);
      } else {
        typed = o.parse((String) raw, flag);
      }
      o.checkInput(typed, flag);
      v.give(o.name(), typed, "command line");
    }
    for (String n : notes) err.println("note: " + n);
    err.flush();
    Options.validateGiven(v);
    Options.validate(v);
    return v;
  }
}
