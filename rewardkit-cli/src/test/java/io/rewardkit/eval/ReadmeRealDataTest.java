package io.rewardkit.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.rewardkit.cli.RewardKitCli;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the README's real-data block (after "<!-- readme-check: real-data -->") as written, from the
 * repository root with ../shared present; the only changes: `runs/` goes to a temporary directory
 * and `train` gets `--max_steps 1` (the full epoch is the README's measured run).
 */
class ReadmeRealDataTest {
  @TempDir Path tmp;

  static List<List<String>> commands(String readme) {
    int at = readme.indexOf("<!-- readme-check: real-data -->");
    assertTrue(at >= 0, "README has no real-data check marker");
    int start = readme.indexOf("```bash\n", at) + 8;
    String block = readme.substring(start, readme.indexOf("```", start)).replace("\\\n", " ");
    List<List<String>> out = new ArrayList<>();
    for (String line : block.split("\n")) {
      if (!line.startsWith("./rewardkit ")) continue;
      out.add(new ArrayList<>(Arrays.asList(line.substring("./rewardkit ".length()).trim().split("\\s+"))));
    }
    return out;
  }

  @Test void realDataSectionRunsAsWritten() throws Exception {
    Path root = Path.of("").toAbsolutePath();
    assumeTrue(Files.isRegularFile(root.resolve("../shared/data/hh-rlhf-harmless/pairs-2000.jsonl"))
        && Files.isRegularFile(root.resolve("../shared/fixtures/tokenizers/qwen3/tokenizer.json")),
        "skipped: ../shared (hh-rlhf pairs, Qwen3 tokenizer) is absent");
    List<List<String>> cmds = commands(Files.readString(root.resolve("README.md")));
    assertEquals(List.of("prepare", "train", "eval"), cmds.stream().map(c -> c.get(0)).toList());
    for (List<String> c : cmds) {
      c.replaceAll(a -> a.startsWith("runs/") ? tmp.resolve(a).toString() : a);
      if (c.get(0).equals("train")) c.addAll(List.of("--max_steps", "1"));
      assertEquals(0, RewardKitCli.run(c.toArray(String[]::new)), String.join(" ", c));
    }
    assertTrue(Files.isRegularFile(tmp.resolve("runs/hh/final/tokenizer.json")), "the checkpoint carries the cache's tokenizer");
  }
}
