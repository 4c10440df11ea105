package org.sparktransfer.jobs;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;

/**
 * Builds the command line for a job and maps its outcome to an {@link ExitCode}. Parsing errors
 * print one line plus a hint instead of the whole usage, so they stand out in scheduler logs.
 */
public final class Cli {
    private Cli() {}

    public static int run(Callable<Integer> command, String[] args) {
        CommandLine cl = new CommandLine(command)
                .setCaseInsensitiveEnumValuesAllowed(true)
                .setUsageHelpLongOptionsMaxWidth(32)
                .setParameterExceptionHandler(Cli::onBadOption)
                .setExecutionExceptionHandler((ex, line, parsed) -> onFailure(ex, line))
                .setExitCodeExceptionMapper(ex -> ex instanceof UsageException
                        ? ExitCode.USAGE_ERROR.code() : ExitCode.ERROR.code());
        cl.setUsageHelpWidth(110);
        return cl.execute(args);
    }

    /** Runs the job and terminates the JVM with its exit code (what spark-submit reports). */
    public static void exit(Callable<Integer> command, String[] args) {
        System.exit(run(command, args));
    }

    private static int onBadOption(CommandLine.ParameterException ex, String[] args) {
        PrintWriter err = ex.getCommandLine().getErr();
        err.println("error: " + ex.getMessage());
        err.println("Run with --help for every option and its default.");
        err.flush();
        return ExitCode.USAGE_ERROR.code();
    }

    private static int onFailure(Exception ex, CommandLine line) {
        PrintWriter err = line.getErr();
        if (ex instanceof UsageException) {
            err.println("error: " + ex.getMessage());
            err.flush();
            return ExitCode.USAGE_ERROR.code();
        }
        if (ex instanceof DataQualityException) {
            err.println("error: " + ex.getMessage());
            err.flush();
            return ExitCode.DATA_ERROR.code();
        }
        err.println("error: " + ex);
        ex.printStackTrace(err);
        err.flush();
        return ExitCode.ERROR.code();
    }
}
