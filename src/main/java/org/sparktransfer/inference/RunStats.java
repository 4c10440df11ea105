package org.sparktransfer.inference;

import static org.apache.spark.sql.functions.col;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * A run's counts, from one small aggregation over the outcome rows (one Spark job instead of one per
 * figure): images scored and rejected, the confusion matrix of the labelled ones, labels the model does
 * not know, and top-k hits.
 */
record RunStats(long scored, long rejected, long unknownClass, long[][] confusion, Double topKAccuracy) {

    static RunStats of(Dataset<Row> outcome, int classes) {
        long scored = 0;
        long rejected = 0;
        long unknown = 0;
        long topKLabelled = 0;
        long topKHits = 0;
        long[][] confusion = new long[classes][classes];
        for (Row r : outcome.groupBy(col(PredictionColumns.REJECT_REASON).isNull(), col("true_index"),
                col("predicted_index"), col("in_top_k"), col("true_label").isNotNull()).count().collectAsList()) {
            long n = r.getLong(5);
            if (!r.getBoolean(0)) {
                rejected += n;
                continue;
            }
            scored += n;
            if (!r.isNullAt(1)) {
                confusion[r.getInt(1)][r.getInt(2)] += n;
            } else if (r.getBoolean(4)) {
                unknown += n;
            }
            if (!r.isNullAt(3)) {
                topKLabelled += n;
                topKHits += r.getBoolean(3) ? n : 0;
            }
        }
        return new RunStats(scored, rejected, unknown, confusion, topKLabelled > 0 ? (double) topKHits / topKLabelled : null);
    }
}
