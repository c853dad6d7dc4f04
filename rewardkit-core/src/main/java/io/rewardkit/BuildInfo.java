package io.rewardkit;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** Version and commit of this build, from the filtered {@code io/rewardkit/version.properties}. */
public final class BuildInfo {
  private BuildInfo() {}

  private static final Properties PROPS = load();

  private static Properties load() {
    Properties p = new Properties();
    try (InputStream in = BuildInfo.class.getResourceAsStream("/io/rewardkit/version.properties")) {
      if (in != null) p.load(in);
    } catch (IOException e) {
      // leave empty: "unknown" below
    }
    return p;
  }

  public static String version() { return known(PROPS.getProperty("version")); }

  /**
   * The commit the running code was built from: {@code REWARDKIT_COMMIT} if set (bundles built outside
   * git), else what the build recorded ({@code git describe --always --dirty} at build time), else "unknown".
   */
  public static String commit() {
    String env = System.getenv("REWARDKIT_COMMIT");
    if (env != null && !env.isBlank()) return env.trim();
    return known(PROPS.getProperty("commit"));
  }

  private static String known(String v) {
    return v == null || v.isBlank() || v.startsWith("${") ? "unknown" : v.trim();
  }
}
