package io.rewardkit.cli;

import io.rewardkit.RewardKitException;
import io.rewardkit.UsageException;
import io.rewardkit.config.Cmd;
import io.rewardkit.config.Opt;
import io.rewardkit.config.Options;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Entry point of the {@code rewardkit} command. Exit codes: 0 ok, 1 failure, 2 usage error. */
@Command(
    name = "rewardkit",
    mixinStandardHelpOptions = true,
    versionProvider = RewardKitCli.Version.class,
    description = {"Train, evaluate and serve LLM reward models (preference models).",
        "Every command's options use the same snake_case names, also as keys of a",
        "--config YAML file."},
    subcommands = {
        TrainCommand.class,
        EvalCommand.class,
        ScoreCommand.class,
        ServeCommand.class,
        PrepareCommand.class,
        BenchCommand.class,
        ExportCommand.class,
        InfoCommand.class,
        CommandLine.HelpCommand.class
    })
public final class RewardKitCli implements Callable<Integer> {

  @Option(names = "--stacktrace", scope = CommandLine.ScopeType.INHERIT,
      description = "Print the full stack trace of an error.")
  boolean stacktrace;

  // Applied before any command runs (see run()); every subcommand accepts it.
  @Option(names = "--cuda_lib_dir", scope = CommandLine.ScopeType.INHERIT, paramLabel = "DIR[:DIR...]",
      description = "Folders with the CUDA 13 libraries (libcublas.so.13, libcublasLt.so.13, libcudart.so.13), searched"
          + " first; default: env REWARDKIT_CUDA_LIB_DIR, then LD_LIBRARY_PATH, the CUDA toolkit and the nvidia/*/lib"
          + " folders of Python environments.")
  String cudaLibDir;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    // `rewardkit` with no subcommand runs the embedded default training job, with its exit code.
    return spec.commandLine().getSubcommands().get("train").execute();
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the CLI and returns its exit code (tests call this instead of main). */
  public static int run(String... args) {
    return commandLine().execute(args);
  }

  /** The command tree with every command's options from the registry. */
  static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new RewardKitCli());
    for (Cmd c : Cmd.values()) CliOptions.install(cli.getSubcommands().get(c.cliName()).getCommandSpec(), c);
    // `--dataset a.jsonl --max_length 1024`: an unknown --name is never taken as a value of --dataset.
    cli.setUnmatchedOptionsAllowedAsOptionParameters(false);
    cli.setExecutionExceptionHandler(RewardKitCli::handleError);
    cli.setParameterExceptionHandler(RewardKitCli::handleUsage);
    // Errors (OutOfMemoryError) pass picocli's exception handler by: one line for them too.
    CommandLine.IExecutionStrategy runLast = new CommandLine.RunLast();
    cli.setExecutionStrategy(parsed -> {
      for (CommandLine.ParseResult pr = parsed; pr != null; pr = pr.subcommand()) {
        String dir = pr.matchedOptionValue("--cuda_lib_dir", null);
        if (dir != null) io.rewardkit.kernels.CudaLibraries.setOverride(dir);
      }
      try {
        return runLast.execute(parsed);
      } catch (OutOfMemoryError e) {
        return handleError(new RewardKitException(MemoryAdvice.generic(e), e), cli, parsed);
      }
    });
    return cli;
  }

  /** A command-line usage error: one line and a pointer to --help, exit code 2. */
  private static int handleUsage(CommandLine.ParameterException e, String[] args) {
    CommandLine cmd = e.getCommandLine();
    PrintWriter err = cmd.getErr();
    err.println("error: " + usageMessage(e) + " (see `" + cmd.getCommandSpec().qualifiedName() + " --help`)");
    err.flush();
    return 2;
  }

  static String usageMessage(CommandLine.ParameterException e) {
    if (e instanceof CommandLine.OverwrittenOptionException o) {
      return Opt.flag(((CommandLine.Model.OptionSpec) o.getOverwritten()).longestName().replaceFirst("^-+", "")) + " given twice; give it once";
    }
    java.util.regex.Matcher unknown = java.util.regex.Pattern.compile("Unknown option: '([^']+)'").matcher(String.valueOf(e.getMessage()));
    String arg = unknown.find() ? unknown.group(1)
        : e instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty() ? u.getUnmatched().get(0) : null;
    if (arg != null) {
      if (!arg.startsWith("-")) return "unexpected argument '" + arg + "'";
      String name = arg.replaceFirst("^-+", "").replaceFirst("=.*$", "");
      Cmd c = cmdOf(e.getCommandLine());
      String s = c == null ? null : Options.suggest(c, name);
      return "unknown option " + arg + (s == null ? "" : " (did you mean " + Opt.flag(s) + "?)");
    }
    if (e instanceof CommandLine.MissingParameterException m) {
      return m.getMissing().stream().filter(a -> a.isOption()).findFirst()
          .map(a -> ((CommandLine.Model.OptionSpec) a).longestName() + " needs a value").orElse(e.getMessage());
    }
    return e.getMessage();
  }

  private static Cmd cmdOf(CommandLine cl) {
    for (Cmd c : Cmd.values()) if (c.cliName().equals(cl.getCommandName())) return c;
    return null;
  }

  private static int handleError(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
    PrintWriter err = cmd.getErr();
    boolean trace = parsed != null && parsed.hasMatchedOption("--stacktrace");
    for (CommandLine.ParseResult sub = parsed; sub != null && !trace; sub = sub.subcommand()) {
      trace = sub.hasMatchedOption("--stacktrace");
    }
    String message = e.getMessage() == null ? "unexpected internal error (" + e.getClass().getSimpleName() + ")" : e.getMessage();
    err.println("error: " + message);
    if (trace) e.printStackTrace(err);
    else if (!(e instanceof UsageException)) err.println("(run with --stacktrace for details)");
    err.flush();
    return e instanceof UsageException ? 2 : 1;
  }

  /** The version, from the build's filtered {@code version.properties}. */
  public static String version() { return io.rewardkit.BuildInfo.version(); }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"rewardkit " + version() + " (commit " + io.rewardkit.BuildInfo.commit() + ")", "Java " + System.getProperty("java.version")};
    }
  }
}
