package org.sparktransfer.config;

import java.io.Serializable;
import java.time.LocalDate;
import org.sparktransfer.data.ImageSource;

/** A scoring run, validated before Spark starts. */
public record PredictConfig(
        String modelUri,
        ImageSource images,
        String outputUri,
        LabelSource labels,
        LocalDate runDate,
        String runId,
        int topK,
        int batchSize,
        long maxPixels,
        boolean skipScored,
        Integer expectedImageSize,
        String expectedClassesUri) implements Serializable {

    /** Where true labels come from: folder names, the manifest's label column, nowhere, or whichever exists. */
    public enum LabelSource { AUTO, FOLDER, MANIFEST, NONE }

    public PredictConfig {
        if (topK < 1) {
            throw new IllegalArgumentException("--top-k must be >= 1, got " + topK);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("--batch-size must be >= 1, got " + batchSize);
        }
        if (maxPixels < 1) {
            throw new IllegalArgumentException("--max-pixels must be positive");
        }
        if (runId != null && !runId.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
            throw new IllegalArgumentException("--run-id must be letters, digits, '.', '_' or '-', got '" + runId + "'");
        }
        if (labels == LabelSource.FOLDER && images.kind() != ImageSource.Kind.FOLDER) {
            throw new IllegalArgumentException("--labels FOLDER needs --images, not --manifest");
        }
        if (labels == LabelSource.MANIFEST && images.kind() != ImageSource.Kind.MANIFEST) {
            throw new IllegalArgumentException("--labels MANIFEST needs --manifest");
        }
    }
}
