package io.rewardkit.cli;

import static io.rewardkit.cli.CliRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.cli.CliRun.Run;
import io.rewardkit.config.Cmd;
import io.rewardkit.config.OptionValues;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Command-line and --config usage: exit code 2 and one line naming the option (and file and line)
 * for every usage error, 1 for runtime failures; TRL / OpenRLHF names accepted or explained.
 */
class CliUsageTest {
  @TempDir Path tmp;

  /** No Java exception class names or parser internals in what users read. */
  static void assertClean(String err) {
    assertFalse(err.contains("Exception") || err.contains("[Source") || err.contains("java.") || err.contains("Usage:"), err);
  }

  Path file(String name, String text) throws Exception {
    Path p = tmp.resolve(name);
    Files.createDirectories(p.getParent());
    Files.writeString(p, text);
    return p;
  }

  static final String[] SHORT = {"--synthetic_train_pairs", "200", "--synthetic_eval_pairs", "20", "--max_steps", "2",
      "--save_steps", "0", "--report", "false"};

  static String[] concat(String[] a, String... b) {
    String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }

  @Test void evalDatasetDoesNotSwallowTheNextOption() throws Exception {
    Path data = file("x.jsonl", "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n");
    Path model = Files.createDirectories(tmp.resolve("model"));
    CommandLine root = RewardKitCli.commandLine();
    root.parseArgs("eval", "--model", model.toString(), "--dataset", data.toString(), "--max_length", "1024");
    CommandLine.Model.CommandSpec eval = root.getSubcommands().get("eval").getCommandSpec();
    OptionValues v = CliOptions.values(Cmd.EVAL, eval, new PrintWriter(new StringWriter()));
    assertEquals(List.of(data.toString()), v.getList("dataset"));
    assertEquals(1024, v.getInt("max_length"));
    assertTrue(v.given("max_length"));
    // an unknown option after a multi-value option is an unknown option, not an input file
    Run r = run("eval", "--model", model.toString(), "--dataset", data.toString(), "--max_lenght", "1024");
    assertEquals(2, r.code());
    assertTrue(r.err().startsWith("error: unknown option --max_lenght (did you mean --max_length?)"), r.err());
    assertClean(r.err());
  }

  @Test void usageErrorsAreOneLineWithExitCode2() throws Exception {
    Run twice = run("train", "--max_length", "64", "--max_length", "128");
    assertEquals(2, twice.code());
    assertEquals("error: --max_length given twice; give it once (see `rewardkit train --help`)", twice.err().strip());
    assertEquals(1, twice.err().lines().count(), twice.err());
    assertClean(twice.err());

    Run bad = run("train", "--max_steps", "2.7");
    assertEquals(2, bad.code());
    assertEquals("error: --max_steps: expected an integer, got '2.7'", bad.err().strip());

    Run rule = run("train", "--max_length", "5000");
    assertEquals(2, rule.code());
    assertTrue(rule.err().contains("--max_tokens_per_batch must be >= 2 x --max_length"), rule.err());
    assertTrue(rule.err().contains("max_length 5000") && rule.err().contains("max_tokens_per_batch 8192"), rule.err());
    assertClean(rule.err());

    Run lr = run("train", "--learning_rate", "Infinity");
    assertEquals(2, lr.code());
    assertTrue(lr.err().startsWith("error: --learning_rate: expected a finite number, got 'Infinity'"), lr.err());
    Run neg = run("train", "--learning_rate", "-1");
    assertEquals(2, neg.code());
    assertTrue(neg.err().startsWith("error: --learning_rate must be a finite number >= 0, got -1"), neg.err());

    Run missing = run("eval", "--dataset", file("d.jsonl", "{}\n").toString());
    assertEquals(2, missing.code());
    assertTrue(missing.err().startsWith("error: eval needs --model"), missing.err());

    Run choice = run("prepare", "--dataset", file("e.jsonl", "{}\n").toString(), "--output_dir", tmp.resolve("c").toString(),
        "--layout", "interleaved");
    assertEquals(2, choice.code());
    assertTrue(choice.err().startsWith("error: --layout: must be one of separate, shared_prefix, got 'interleaved'"), choice.err());
  }

  @Test void runtimeFailuresExitWith1() throws Exception {
    Path bad = file("bad.jsonl", "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n{oops\n");
    Run r = run("prepare", bad.toString(), "--output_dir", tmp.resolve("out").toString());
    assertEquals(1, r.code());
    assertTrue(r.err().contains("bad.jsonl:2:"), r.err());
  }

  @Test void brokenTokenizerConfigIsNamed() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("tok"));
    file("tok/tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {}}}");
    file("tok/tokenizer_config.json", "{\"eos_token\": \"</s>\",\n  \"chat_template\": oops}");
    Path data = file("d.jsonl", "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n");
    Run r = run("prepare", data.toString(), "--tokenizer", dir.toString(), "--output_dir", tmp.resolve("out").toString());
    assertEquals(1, r.code());
    String first = r.err().lines().findFirst().orElseThrow();
    assertTrue(first.contains("tokenizer_config.json: not valid JSON (line 2)"), first);
    assertClean(r.err());
  }

  @Test void configFileIsStrict() throws Exception {
    String[][] cases = {
        {"- learning_rate: 1\n", "line 1: the top level must be a mapping of option: value, got a list"},
        {"learning_rate: 1e-4\nmax_steps: 3\nlearning_rate: 2e-4\n", "line 3: learning_rate: key given twice (first on line 1)"},
        {"logging_steps: 5\nmax_steps: 2.7\n", "line 2: max_steps: expected an integer, got 2.7"},
        {"dataset: 5\n", "line 1: dataset: expected a path or a list of paths, got the number 5"},
        {"report: maybe\n", "line 1: report: expected true or false, got 'maybe'"},
        {"learnig_rate: 1\n", "line 1: learnig_rate: unknown option (did you mean learning_rate?)"},
        {"warmup_ratio: 1.5\n", "line 1: warmup_ratio must be in [0, 1), got 1.5"},
        {"max_len: 64\nmax_length: 128\n", "line 2: max_length: the same option as 'max_len' (max_length) given twice"},
        {"learning_rate: [1\n", "not valid YAML"},
    };
    for (String[] c : cases) {
      Path y = file("c.yaml", c[0]);
      Run r = run("train", "--config", y.toString());
      assertEquals(2, r.code(), c[0] + " -> " + r.err());
      String first = r.err().lines().findFirst().orElseThrow();
      assertTrue(first.startsWith("error: " + y + ": ") && first.contains(c[1]), c[0] + " -> " + first);
      assertEquals(1, r.err().lines().count(), r.err());
      assertClean(r.err());
    }
  }

  @Test void trlStyleYamlGivesExplanationsAndRuns() throws Exception {
    Path y = file("trl.yaml", String.join("\n",
        "per_device_train_batch_size: 8",
        "per_device_eval_batch_size: 8",
        "gradient_checkpointing: true",
        "bf16: true",
        "fp16: true",
        "report_to: wandb",
        "eval_strategy: steps",
        "resume_from_checkpoint: false",
        "learning_rate: 1.0e-3",
        "max_len: 48",
        "output_dir: " + tmp.resolve("run"), ""));
    Run r = run(concat(new String[] {"train", "--config", y.toString()}, SHORT));
    assertEquals(0, r.code(), r.err());
    // gradient_checkpointing is RewardKit's own option now (taken, not explained away)
    assertFalse(r.err().contains("gradient_checkpointing is ignored"), r.err());
    // so is bf16 (bf16 GEMMs on AVX512-BF16 CPUs)
    assertFalse(r.err().contains("bf16 is ignored"), r.err());
    for (String k : List.of("per_device_train_batch_size", "per_device_eval_batch_size", "fp16",
        "report_to", "eval_strategy")) {
      assertTrue(r.err().contains(": " + k + " is ignored: "), k + " explained in:\n" + r.err());
    }
    assertTrue(r.err().contains("per_device_train_batch_size is ignored: RewardKit packs pairs into token-budget batches: "
        + "use --max_tokens_per_batch"), r.err());
    assertTrue(r.err().contains("report_to is ignored: RewardKit always writes metrics.jsonl and report/index.html"), r.err());
    assertClean(r.err());
    String saved = Files.readString(tmp.resolve("run/train_config.json"));
    assertTrue(saved.contains("\"learning_rate\" : 0.001") && saved.contains("\"max_length\" : 48"), saved);
    assertTrue(saved.contains("\"bf16\" : true"), saved);

    // the same names on the command line
    Run cli = run(concat(new String[] {"train", "--output_dir", tmp.resolve("run2").toString(), "--per_device_train_batch_size", "8",
        "--fp16", "--report_to", "none", "--resume_from_checkpoint", "false"}, SHORT));
    assertEquals(0, cli.code(), cli.err());
    assertTrue(cli.err().contains("note: --per_device_train_batch_size is ignored: RewardKit packs pairs"), cli.err());
    assertTrue(cli.err().contains("note: --fp16 is ignored: not available"), cli.err());
  }

  /** The closing summary lists report/index.html only when the run wrote one (--report false writes none). */
  @Test void summaryNamesTheReportOnlyWhenWritten() throws Exception {
    Run without = run(concat(new String[] {"train", "--output_dir", tmp.resolve("noreport").toString()}, SHORT));
    assertEquals(0, without.code(), without.err());
    assertFalse(Files.exists(tmp.resolve("noreport/report/index.html")));
    assertFalse(without.out().contains("report/index.html"), without.out());

    String[] withReport = SHORT.clone();
    withReport[withReport.length - 1] = "true";
    Run with = run(concat(new String[] {"train", "--output_dir", tmp.resolve("report").toString()}, withReport));
    assertEquals(0, with.code(), with.err());
    assertTrue(Files.isRegularFile(tmp.resolve("report/report/index.html")));
    assertTrue(with.out().contains("report/index.html"), with.out());
  }

  @Test void oldSpellingsStillWorkWithANote() throws Exception {
    Path data = file("d.jsonl", "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n");
    Run r = run("prepare", data.toString(), "--output", tmp.resolve("c1").toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.err().contains("note: --output is now --output_dir"), r.err());
    Run s = run("prepare", "--dataset", data.toString(), "-o", tmp.resolve("c2").toString());
    assertEquals(0, s.code(), s.err());
    assertFalse(s.err().contains("note:"), s.err());
    Run both = run("prepare", data.toString(), "--dataset", data.toString(), "-o", tmp.resolve("c3").toString());
    assertEquals(2, both.code());
    assertTrue(both.err().startsWith("error: DATASET and --dataset both set --dataset; give it once"), both.err());
    Run bench = run("bench", "--token-budget", "100", "--max-length", "200", "--export-peer", tmp.resolve("p").toString());
    assertEquals(2, bench.code());
    assertTrue(bench.err().contains("note: --token-budget is now --max_tokens_per_batch"), bench.err());
    assertTrue(bench.err().contains("error: --max_tokens_per_batch must be >= 2 x --max_length"), bench.err());
  }
}
