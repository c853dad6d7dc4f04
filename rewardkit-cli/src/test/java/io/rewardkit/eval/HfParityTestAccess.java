package io.rewardkit.eval;

import java.nio.file.Path;
import java.util.stream.Stream;

/** HfParityTest's committed fixtures (test resources /parity) for tests in other packages. */
public final class HfParityTestAccess {
  private HfParityTestAccess() {}

  public static Path root() { return HfParityTest.ROOT; }

  public static Stream<String> cases() throws Exception { return HfParityTest.cases(); }
}
