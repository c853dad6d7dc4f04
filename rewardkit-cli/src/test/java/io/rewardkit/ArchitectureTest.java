package io.rewardkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The module/package structure of README "Architecture", read from the main sources: every top-level
 * package (io.rewardkit.X, sub-packages included; the root package is "root") lives in one module,
 * uses only packages of its own module and the modules below it, and the package graph has no cycle.
 */
class ArchitectureTest {
  /** Module → the modules its packages may use (Maven enforces the jar level; this the package level). */
  static final Map<String, Set<String>> MODULES = Map.of(
      "rewardkit-kernels", Set.of("rewardkit-kernels"),
      "rewardkit-core", Set.of("rewardkit-kernels", "rewardkit-core"),
      "rewardkit-cli", Set.of("rewardkit-kernels", "rewardkit-core", "rewardkit-cli"));
  static final Pattern PACKAGE = Pattern.compile("^package io\\.rewardkit(?:\\.(\\w+))?[\\w.]*;", Pattern.MULTILINE);
  /** A reference to a class of RewardKit: io.rewardkit.[pkg.]Class (imports and qualified names). */
  static final Pattern REF = Pattern.compile("\\bio\\.rewardkit\\.(?:([a-z]\\w*)\\.)?[\\w.]*?[A-Z]");
  /** Comments and string/char literals: words there are not dependencies. */
  static final Pattern NOT_CODE = Pattern.compile("//[^\\n]*|/\\*(?s:.*?)\\*/|\"(?:\\\\.|[^\"\\\\\\n])*\"|'(?:\\\\.|[^'\\\\])+'");

  @Test
  void packagesFormAnAcyclicGraphInsideTheirModules() throws IOException {
    Map<String, String> moduleOf = new TreeMap<>();
    Map<String, Set<String>> uses = new TreeMap<>();
    for (String module : MODULES.keySet()) {
      Path src = Path.of(module, "src", "main", "java");
      assertTrue(Files.isDirectory(src), "no " + src + " (run from the repository root)");
      List<Path> files;
      try (Stream<Path> s = Files.walk(src)) { files = s.filter(f -> f.toString().endsWith(".java")).toList(); }
      for (Path f : files) {
        String text = Files.readString(f);
        Matcher pm = PACKAGE.matcher(text);
        assertTrue(pm.find(), "no io.rewardkit package line in " + f);
        String pkg = pm.group(1) == null ? "root" : pm.group(1);
        String before = moduleOf.putIfAbsent(pkg, module);
        if (before != null && !before.equals(module)) fail("package " + pkg + " is split over " + before + " and " + module);
        Set<String> out = uses.computeIfAbsent(pkg, k -> new TreeSet<>());
        Matcher rm = REF.matcher(NOT_CODE.matcher(text).replaceAll(" "));
        while (rm.find()) {
          String target = rm.group(1) == null ? "root" : rm.group(1);
          if (!target.equals(pkg)) out.add(target + " (" + f.getFileName() + ")");
        }
      }
    }
    assertTrue(moduleOf.keySet().containsAll(Set.of("kernels", "model", "train", "eval", "cli")), moduleOf.toString());

    Map<String, Set<String>> graph = new TreeMap<>();
    for (var e : uses.entrySet()) {
      Set<String> to = new TreeSet<>();
      for (String use : e.getValue()) {
        String target = use.substring(0, use.indexOf(' '));
        String from = moduleOf.get(e.getKey()), toModule = moduleOf.get(target);
        assertTrue(toModule != null, e.getKey() + " uses unknown package " + use);
        assertTrue(MODULES.get(from).contains(toModule),
            "package " + e.getKey() + " (" + from + ") uses " + use + " of " + toModule + ", a module above it");
        to.add(target);
      }
      graph.put(e.getKey(), to);
    }
    List<String> cycle = findCycle(graph);
    assertTrue(cycle.isEmpty(), "package cycle: " + String.join(" -> ", cycle) + "\nuses: " + uses);
  }

  /** The reader itself: a cycle is found, comments and strings are not dependencies. */
  @Test
  void findsCyclesAndIgnoresComments() {
    assertEquals(List.of("a", "b", "a"), findCycle(Map.of("a", Set.of("b"), "b", Set.of("a"))));
    assertTrue(findCycle(Map.of("a", Set.of("b"), "b", Set.of())).isEmpty());
    String code = NOT_CODE.matcher("/** {@link io.rewardkit.train.X} */ String s = \"io.rewardkit.eval.Y\"; // io.rewardkit.cli.Z")
        .replaceAll(" ");
    assertFalse(REF.matcher(code).find(), code);
    Matcher m = REF.matcher("import static io.rewardkit.report.MetricsRecords.start; io.rewardkit.UsageException");
    assertTrue(m.find());
    assertEquals("report", m.group(1));
    assertTrue(m.find());
    assertEquals(null, m.group(1));
  }

  /** One cycle as a path that starts and ends at the same package, or empty. */
  static List<String> findCycle(Map<String, Set<String>> graph) {
    Map<String, Integer> state = new TreeMap<>();  // 1: on the current path, 2: done
    List<String> path = new ArrayList<>();
    for (String start : new TreeSet<>(graph.keySet())) {
      List<String> c = dfs(start, graph, state, path);
      if (!c.isEmpty()) return c;
    }
    return List.of();
  }

  private static List<String> dfs(String n, Map<String, Set<String>> graph, Map<String, Integer> state, List<String> path) {
    Integer s = state.get(n);
    if (s != null && s == 2) return List.of();
    if (s != null && s == 1) {
      List<String> c = new ArrayList<>(path.subList(path.indexOf(n), path.size()));
      c.add(n);
      return c;
    }
    state.put(n, 1);
    path.add(n);
    for (String m : new TreeSet<>(graph.getOrDefault(n, Set.of()))) {
      List<String> c = dfs(m, graph, state, path);
      if (!c.isEmpty()) return c;
    }
    path.remove(path.size() - 1);
    state.put(n, 2);
    return List.of();
  }
}
