/**
 * {@code spark-submit --class TrainJob app.jar ...}: the class name a user types. Lives in the
 * unnamed package on purpose and only delegates.
 */
public final class TrainJob {
    private TrainJob() {}

    public static void main(String[] args) {
        org.sparktransfer.jobs.Cli.exit(new org.sparktransfer.jobs.TrainCommand(), args);
    }
}
