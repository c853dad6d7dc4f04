package io.rewardkit.cli;

import io.rewardkit.RewardKitException;
import io.rewardkit.kernels.BackendUnavailableException;
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
    description = "Train, evaluate and serve LLM reward models (preference models).",
    subcommands = {
        TrainCommand.class,
        EvalCommand.class,
        ScoreCommand.class,
        ServeCommand.class,
        PrepareCommand.class,
        BenchCommand.class,
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
    CommandLine cli = new CommandLine(new RewardKitCli());
    cli.setExecutionExceptionHandler(RewardKitCli::handleError);
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
    return cli.execute(args);
  }

  private static int handleError(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
    PrintWriter err = cmd.getErr();
    boolean trace = parsed != null && parsed.hasMatchedOption("--stacktrace");
    for (CommandLine.ParseResult sub = parsed; sub != null && !trace; sub = sub.subcommand()) {
      trace = sub.hasMatchedOption("--stacktrace");
    }
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    if (e instanceof RewardKitException || e instanceof IllegalArgumentException
        || e instanceof BackendUnavailableException) {
      err.println("error: " + message);
    } else {
      err.println("error: " + e.getClass().getSimpleName() + ": " + message);
    }
    if (trace) e.printStackTrace(err);
    else err.println("(run with --stacktrace for details)");
    err.flush();
    return 1;
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
