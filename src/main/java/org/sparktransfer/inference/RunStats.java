package org.sparktransfer.inference;

import java.io.Serializable;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Row;

/**
 * A run's counts, tallied in one pass over the {@link PredictionColumns#OUTCOME} rows (one Spark job,
 * no shuffle, no query to plan): images scored and rejected, the confusion matrix of the labelled
 * ones, labels the model does not know, and top-k hits.
 */
record RunStats(long scored, long rejected, long unknownClass, long[][] confusion, Double topKAccuracy) {
    private static final int PREDICTED_INDEX = PredictionColumns.OUTCOME.fieldIndex("predicted_index");
    private static final int TRUE_LABEL = PredictionColumns.OUTCOME.fieldIndex("true_label");
    private static final int TRUE_INDEX = PredictionColumns.OUTCOME.fieldIndex("true_index");
    private static final int IN_TOP_K = PredictionColumns.OUTCOME.fieldIndex("in_top_k");
    private static final int REJECT_REASON = PredictionColumns.OUTCOME.fieldIndex(PredictionColumns.REJECT_REASON);

    static RunStats of(JavaRDD<Row> outcome, int classes) {
        Tally t = outcome.aggregate(new Tally(classes), Tally::add, Tally::merge);
        return new RunStats(t.scored, t.rejected, t.unknown, t.confusion,
                t.topKLabelled > 0 ? (double) t.topKHits / t.topKLabelled : null);
    }

    static final class Tally implements Serializable {
        private static final long serialVersionUID = 1L;
        long scored;
        long rejected;
        long unknown;
        long topKLabelled;
        long topKHits;
        final long[][] confusion;

        Tally(int classes) {
            confusion = new long[classes][classes];
        }

        Tally add(Row r) {
            if (!r.isNullAt(REJECT_REASON)) {
                rejected++;
                return this;
            }
            scored++;
            if (!r.isNullAt(TRUE_INDEX)) {
                confusion[r.getInt(TRUE_INDEX)][r.getInt(PREDICTED_INDEX)]++;
            } else if (!r.isNullAt(TRUE_LABEL)) {
                unknown++;
            }
            if (!r.isNullAt(IN_TOP_K)) {
                topKLabelled++;
                topKHits += r.getBoolean(IN_TOP_K) ? 1 : 0;
            }
            return this;
        }

        Tally merge(Tally o) {
            scored += o.scored;
            rejected += o.rejected;
            unknown += o.unknown;
            topKLabelled += o.topKLabelled;
            topKHits += o.topKHits;
            for (int a = 0; a < confusion.length; a++) {
                for (int p = 0; p < confusion.length; p++) {
                    confusion[a][p] += o.confusion[a][p];
                }
            }
            return this;
        }
    }
}
