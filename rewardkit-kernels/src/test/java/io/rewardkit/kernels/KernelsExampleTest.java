package io.rewardkit.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Runs rewardkit-kernels/examples/TinyAttention.java the way its README does (the JDK's source launcher)
 * on this module's class path minus the test entries: it must compile and train with the kernels alone.
 */
class KernelsExampleTest {

  @Test
  void readmeExampleTrainsWithTheKernelsAlone() throws Exception {
    String cp = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
        .filter(e -> !e.contains("test-classes") && !e.matches(".*(junit|opentest4j|apiguardian).*"))
        .collect(Collectors.joining(File.pathSeparator));
    assertTrue(!cp.contains("rewardkit-core") && !cp.contains("rewardkit-cli"), cp);
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> cmd = new ArrayList<>(List.of(java.toString(), "--enable-native-access=ALL-UNNAMED",
        "-Dorg.bytedeco.javacpp.cachedir=" + System.getProperty("org.bytedeco.javacpp.cachedir", "target/javacpp-cache"),
        "-cp", cp, "rewardkit-kernels/examples/TinyAttention.java"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(2, TimeUnit.MINUTES), "example did not finish");
    assertEquals(0, p.exitValue(), out);

    List<Double> losses = new ArrayList<>();
    Matcher m = Pattern.compile("step +\\d+ +loss ([0-9.]+)").matcher(out);
    while (m.find()) losses.add(Double.parseDouble(m.group(1)));
    assertEquals(6, losses.size(), out);
    for (int i = 1; i < losses.size(); i++) assertTrue(losses.get(i) < losses.get(i - 1), "loss went up:\n" + out);
    assertTrue(losses.get(5) < losses.get(0) / 5, "loss fell too little:\n" + out);
  }
}
