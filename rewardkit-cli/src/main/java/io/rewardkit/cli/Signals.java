package io.rewardkit.cli;

import sun.misc.Signal;

/**
 * SIGTERM/SIGINT as a request to stop, so a server can finish its work and exit 0. The JVM's own
 * handling (shutdown hooks, exit code 143/130) cannot wait for in-flight requests and return 0.
 * {@code sun.misc.Signal} lives in jdk.unsupported, which the bundle's runtime includes.
 */
final class Signals {
  private Signals() {}

  static void onTermination(Runnable action) {
    for (String name : new String[] {"TERM", "INT"}) {
      try {
        Signal.handle(new Signal(name), s -> action.run());
      } catch (IllegalArgumentException e) {
        // signal not available on this platform (or reserved by the JVM's options): keep the default
      }
    }
  }
}
