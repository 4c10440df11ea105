/** {@code spark-submit --class ImportModel app.jar ...}: a torchvision classifier as a model artifact. */
public final class ImportModel {
    private ImportModel() {}

    public static void main(String[] args) {
        org.sparktransfer.jobs.Cli.exit(new org.sparktransfer.jobs.ImportModelCommand(), args);
    }
}
