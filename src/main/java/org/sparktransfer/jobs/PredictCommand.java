package org.sparktransfer.jobs;

import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.Map;
import org.sparktransfer.config.PredictConfig;
import org.sparktransfer.data.ImageSource;
import org.sparktransfer.inference.PredictPipeline;
import org.sparktransfer.io.SparkSessions;
import org.sparktransfer.runtime.ExecutorWarmup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "PredictJob", sortOptions = false, versionProvider = ProjectVersion.class,
        description = "Scores images with a trained model and writes predictions, confusion matrix, "
                + "per-class metrics, summary and rejects as Parquet partitioned by run_date and run_id.",
        footer = "%nRerunning the same --run-date/--run-id replaces exactly that partition of every table.")
public final class PredictCommand extends JobCommand {

    @Option(names = "--model", required = true, paramLabel = "URI",
            description = "Model artifact directory (TrainJob's <run>/model, or the run directory, or ImportModel's output).")
    String model;

    @Mixin
    ImageInputOptions input;

    @Option(names = "--output", required = true, paramLabel = "URI", description = "Base directory of the output tables.")
    String output;

    @Option(names = "--labels", defaultValue = "AUTO",
            description = "True labels from: ${COMPLETION-CANDIDATES}; AUTO = the manifest's label column, or the first "
                    + "folder level when every folder is a class of the model (default: ${DEFAULT-VALUE}).")
    PredictConfig.LabelSource labels;

    @Option(names = "--run-date", paramLabel = "YYYY-MM-DD", description = "Partition date (default: today).")
    String runDate;

    @Option(names = "--run-id", paramLabel = "ID",
            description = "Run identifier (default: derived from model, images and run date, so a rerun replaces its rows).")
    String runId;

    @Option(names = "--top-k", defaultValue = "5", description = "Classes kept per image in top_k (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--batch-size", defaultValue = "32", description = "Images per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--skip-scored", description = "Skip images this model already scored in earlier runs.")
    boolean skipScored;

    @Option(names = "--image-size", paramLabel = "PX",
            description = "Fail at start unless the model's input size is this (guards scheduled jobs against a swapped model).")
    Integer imageSize;

    @Option(names = "--expect-classes", paramLabel = "FILE",
            description = "Fail at start unless the model's classes equal this file's (one per line, index order).")
    String expectClasses;

    private PredictConfig config;

    @Override
    protected void validate() {
        ImageSource source = input.imageSource();
        LocalDate date;
        try {
            date = runDate == null ? LocalDate.now() : LocalDate.parse(runDate);
        } catch (DateTimeParseException e) {
            throw new UsageException("--run-date must be YYYY-MM-DD, got '" + runDate + "'");
        }
        try {
            config = new PredictConfig(model, source, output, labels, date, runId, topK, batchSize, input.maxPixels,
                    skipScored, imageSize, expectClasses);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    PredictConfig config() {
        return config;
    }

    @Override
    protected ExitCode execute() throws Exception {
        try (SparkSessions.Handle session = SparkSessions.open("PredictJob", Map.of(ExecutorWarmup.MODEL, config.modelUri()))) {
            new PredictPipeline(session.spark(), config).run();
            return ExitCode.OK;
        }
    }
}
