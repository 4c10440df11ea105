package org.sparktransfer.config;

import java.io.Serializable;

/**
 * The knobs of dl4j-spark's ParameterAveragingTrainingMaster, as the user set them ({@code averagingFrequency} 0 =
 * auto, decided per epoch by {@code train.AveragingRounds}).
 */
public record TrainingMasterSettings(
        int workers,
        int batchSizePerWorker,
        int averagingFrequency,
        int prefetchBatches,
        Repartition repartition,
        RepartitionStrategy repartitionStrategy,
        RddApproach rddApproach,
        String storageLevel,
        boolean averageUpdaters,
        String exportDirectory) implements Serializable {

    public enum Repartition { ALWAYS, NEVER, WHEN_WORKERS_DIFFER }

    public enum RepartitionStrategy { BALANCED, APPROXIMATE_BALANCED, SPARK_DEFAULT }

    /**
     * Export writes each epoch's minibatches to files and trains on their paths (DL4J's recommendation; the files
     * hold the encoded images, {@code io.ImageBatchFiles}, which the workers decode, or cached features in
     * {@code io.DataSetFiles}' bulk format); Direct keeps decoded minibatches in the RDD.
     */
    public enum RddApproach { EXPORT, DIRECT }

    public TrainingMasterSettings {
        check(workers >= 0, "--workers must be >= 0 (0 = Spark's default parallelism), got " + workers);
        check(batchSizePerWorker >= 1, "--batch-size must be >= 1, got " + batchSizePerWorker);
        check(averagingFrequency >= 0, "--averaging-frequency must be >= 1, or 0 for auto, got " + averagingFrequency);
        check(prefetchBatches >= 0, "--prefetch must be >= 0, got " + prefetchBatches);
        try {
            org.apache.spark.storage.StorageLevel.fromString(storageLevel);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--storage-level '" + storageLevel + "' is not a Spark storage level");
        }
    }

    /** The averaging frequency as set, for logs and the manifest: {@code "auto"} or the number. */
    public Object averagingFrequencySetting() {
        return averagingFrequency == 0 ? "auto" : averagingFrequency;
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
