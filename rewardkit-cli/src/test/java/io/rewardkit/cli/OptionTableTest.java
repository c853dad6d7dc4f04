package io.rewardkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.config.Cmd;
import io.rewardkit.config.Opt;
import io.rewardkit.config.OptionValues;
import io.rewardkit.config.Options;
import io.rewardkit.data.DataOptions;
import io.rewardkit.train.TrainConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * One option table drives every command: each command's --help lists exactly the registry's
 * options for it, with the registry's defaults, under snake_case names; options shared by several
 * commands show the same default everywhere; TrainConfig's and DataOptions' defaults are the table's.
 */
class OptionTableTest {
  /** The options several commands share, with the one default each must show (a literal table). */
  static final Map<String, String> SHARED = Map.ofEntries(
      Map.entry("max_length", "1024"), Map.entry("max_tokens_per_batch", "8192"), Map.entry("seed", "42"),
      Map.entry("layout", "separate"), Map.entry("truncation", "drop"), Map.entry("format", "auto"),
      Map.entry("prompt_key", "prompt"), Map.entry("chosen_key", "chosen"), Map.entry("rejected_key", "rejected"),
      Map.entry("margin_key", "margin"), Map.entry("on_bad_record", "fail"), Map.entry("chat_template", "auto"),
      Map.entry("device", "cpu"), Map.entry("eval_split", "0"), Map.entry("threads", "0"));

  /** Option name to the default its help line shows, parsed from the command's --help text. */
  static Map<String, String> helpTable(Cmd cmd) {
    StringWriter sw = new StringWriter();
    CommandLine cl = RewardKitCli.commandLine().getSubcommands().get(cmd.cliName());
    cl.usage(new PrintWriter(sw), CommandLine.Help.Ansi.OFF);
    String text = sw.toString();
    String options = text.substring(text.indexOf("--stacktrace"));
    // one entry per option: "--name[=LABEL]   description ... (default: X)" possibly over several lines
    Map<String, String> out = new LinkedHashMap<>();
    Matcher m = Pattern.compile("(?m)^ {2,8}--([a-z0-9_]+)[=\\[ ]").matcher(options);
    List<int[]> starts = new ArrayList<>();
    List<String> names = new ArrayList<>();
    while (m.find()) {
      starts.add(new int[] {m.start()});
      names.add(m.group(1));
    }
    for (int i = 0; i < names.size(); i++) {
      int end = i + 1 < names.size() ? starts.get(i + 1)[0] : options.length();
      String entry = options.substring(starts.get(i)[0], end).replaceAll("\\s+", " ");
      Matcher d = Pattern.compile("\\((default: ([^)]*)|required)\\)\\s*$").matcher(entry.trim());
      out.put(names.get(i), d.find() ? (d.group(2) == null ? "(required)" : d.group(2)) : null);
    }
    // the root's inherited options (--stacktrace, --cuda_lib_dir) are not command options
    for (CommandLine.Model.OptionSpec o : RewardKitCli.commandLine().getCommandSpec().options()) {
      out.remove(o.longestName().replaceFirst("^-+", ""));
    }
    return out;
  }

  @Test void everyCommandsHelpIsTheRegistry() {
    for (Cmd cmd : Cmd.values()) {
      Map<String, String> help = helpTable(cmd);
      List<String> expected = Options.of(cmd).stream().map(Opt::name).toList();
      assertEquals(expected, new ArrayList<>(help.keySet()), cmd + ": options listed in --help");
      for (Opt o : Options.of(cmd)) {
        String shown = help.get(o.name());
        assertNotNull(shown, cmd + " --" + o.name() + ": every help line ends with its default or (required)");
        if (Options.required(cmd, o.name())) assertEquals("(required)", shown, cmd + " --" + o.name());
        else if ((cmd == Cmd.EVAL || cmd == Cmd.SCORE || cmd == Cmd.SERVE) && o.isData()) assertEquals("the checkpoint's", shown, cmd + " --" + o.name());
        else if (o.defaultText() != null) assertEquals(o.defaultText(), shown, cmd + " --" + o.name() + " default");
        assertTrue(o.name().matches("[a-z][a-z0-9]*(_[a-z0-9]+)*"), "snake_case: " + o.name());
      }
    }
  }

  @Test void sharedOptionsShowOneDefaultOnEveryCommand() {
    for (Map.Entry<String, String> e : SHARED.entrySet()) {
      int commands = 0;
      for (Cmd cmd : Cmd.values()) {
        Map<String, String> help = helpTable(cmd);
        if (!help.containsKey(e.getKey()) || (cmd == Cmd.EVAL || cmd == Cmd.SCORE || cmd == Cmd.SERVE) && Options.get(e.getKey()).isData()) continue;
        commands++;
        assertEquals(e.getValue(), help.get(e.getKey()), cmd.cliName() + " --" + e.getKey());
      }
      assertTrue(commands >= 2, "--" + e.getKey() + " is shared by " + commands + " commands");
    }
    // the data-key options are on every command that reads preference data
    for (String k : List.of("dataset", "prompt_key", "chosen_key", "rejected_key", "margin_key", "rating_key")) {
      for (Cmd cmd : List.of(Cmd.TRAIN, Cmd.EVAL, Cmd.PREPARE, Cmd.BENCH)) {
        assertTrue(helpTable(cmd).containsKey(k), cmd.cliName() + " takes --" + k);
      }
    }
  }

  @Test void trainConfigAndDataOptionsDefaultsAreTheTables() {
    OptionValues defaults = new OptionValues(Cmd.TRAIN);
    OptionValues fromConfig = new TrainConfig().values();
    for (Opt o : Options.of(Cmd.TRAIN)) {
      if (o.name().equals("config")) continue;
      Object want = defaults.get(o.name());
      Object got = fromConfig.get(o.name());
      if (want == null && got instanceof List<?> l) assertTrue(l.isEmpty(), o.name());
      else assertEquals(want, got, "TrainConfig default of " + o.name());
    }
    Map<String, Object> data = DataOptions.defaults().values();
    assertEquals(DataOptions.NAMES, new ArrayList<>(data.keySet()));
    for (String n : DataOptions.NAMES) {
      assertTrue(Options.get(n).isData(), n + " is a data option in the registry");
      assertEquals(Options.get(n).defaultValue(), data.get(n), "DataOptions default of " + n);
    }
    for (Opt o : Options.all()) if (o.isData()) assertTrue(DataOptions.NAMES.contains(o.name()), o.name());
  }

  @Test void resumeHelpListsTheResumableOptions() {
    String help = Options.get("resume").help();
    java.util.Set<String> listed = new java.util.TreeSet<>();
    Matcher m = Pattern.compile("--([a-z_]+)").matcher(help.substring(help.indexOf("only ")));
    while (m.find()) listed.add(m.group(1));
    assertEquals(new java.util.TreeSet<>(Options.resumable()), listed);
  }

  @Test void optionNamesAreUniqueAcrossAliases() {
    for (Cmd cmd : Cmd.values()) {
      List<String> seen = new ArrayList<>();
      for (Opt o : Options.of(cmd)) {
        for (String n : Options.names(cmd, o)) {
          assertTrue(!seen.contains(n), cmd + ": name " + n + " used twice");
          seen.add(n);
          assertEquals(o, Options.lookup(cmd, n).opt(), cmd + ": " + n);
        }
      }
    }
  }
}
