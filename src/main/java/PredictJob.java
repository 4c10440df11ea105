/** {@code spark-submit --class PredictJob app.jar ...}: scheduled batch inference. */
public final class PredictJob {
    private PredictJob() {}

    public static void main(String[] args) {
        org.sparktransfer.jobs.Cli.exit(new org.sparktransfer.jobs.PredictCommand(), args);
    }
}
