package io.rewardkit.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Child JVMs for the kill -9 tests: this JVM's classpath and JavaCPP cache, output to a log file. */
final class ChildJvm {
  private ChildJvm() {}

  /** Starts {@code main} with the given -D properties and arguments; stdout and stderr are appended to {@code log}. */
  static Process start(Class<?> main, List<String> props, List<String> args, Path log) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xss16m");
    // short-lived children: start fast (C1 only, serial GC); Java float semantics do not depend on either
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-XX:+UseSerialGC");
    String cache = System.getProperty("org.bytedeco.javacpp.cachedir");
    if (cache != null) cmd.add("-Dorg.bytedeco.javacpp.cachedir=" + cache);
    cmd.addAll(props);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(main.getName());
    cmd.addAll(args);
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
  }

  /** Whether {@code dir} has an entry whose name starts with {@code prefix} (false if it cannot be listed). */
  static boolean hasEntry(Path dir, String prefix) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.anyMatch(x -> x.getFileName().toString().startsWith(prefix));
    } catch (IOException e) {
      return false;
    }
  }

  /** The file's text, or "" when it cannot be read (for failure messages). */
  static String readOrEmpty(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return "";
    }
  }
}
