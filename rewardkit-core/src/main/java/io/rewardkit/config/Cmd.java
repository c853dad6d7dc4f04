package io.rewardkit.config;

import java.util.Locale;

/** The commands that take options from the registry ({@link Options}). */
public enum Cmd {
  TRAIN, EVAL, SCORE, SERVE, PREPARE, BENCH, EXPORT;

  /** The command's name on the command line. */
  public String cliName() { return name().toLowerCase(Locale.ROOT); }
}
