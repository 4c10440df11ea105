package org.sparktransfer.jobs;

import java.util.concurrent.Callable;
import picocli.CommandLine.Option;

/**
 * The fixed lifecycle of every job: parse (picocli), validate everything that can be checked
 * without a cluster, then execute. Subclasses never call System.exit.
 */
public abstract class JobCommand implements Callable<Integer> {

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Option(names = {"-V", "--version"}, versionHelp = true, description = "Print the version and exit.")
    boolean version;

    @Override
    public final Integer call() throws Exception {
        validate();
        return execute().code();
    }

    /** Checks options before a SparkSession exists; throws {@link UsageException}. */
    protected abstract void validate();

    protected abstract ExitCode execute() throws Exception;

    protected static void require(boolean condition, String message) {
        if (!condition) {
            throw new UsageException(message);
        }
    }
}
