package org.sparktransfer.inference;

import java.io.Serializable;
import java.sql.Timestamp;
import java.util.Arrays;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.sparktransfer.data.ClassIndex;
import org.sparktransfer.data.RejectCause;

/** Builds {@link PredictionColumns#OUTCOME} rows: an image's prediction from its probabilities, or its reject. */
final class PredictionRows implements Serializable {
    private static final long serialVersionUID = 1L;

    private final ClassIndex classes;
    private final int topK;
    private final String modelId;
    private final String runId;
    private final Timestamp scoredAt;

    PredictionRows(ClassIndex classes, int topK, String modelId, String runId, Timestamp scoredAt) {
        this.classes = classes;
        this.topK = Math.min(topK, classes.size());
        this.modelId = modelId;
        this.runId = runId;
        this.scoredAt = scoredAt;
    }

    /** @param trueLabel the image's label when labels are used (may be a class the model does not know) */
    Row scored(String path, String trueLabel, long bytes, double[] p) {
        Integer[] order = new Integer[p.length];
        for (int i = 0; i < p.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
        // Spark's row encoder takes arrays (or Scala Seqs) for array columns, not java.util.List.
        Row[] top = new Row[topK];
        for (int i = 0; i < topK; i++) {
            top[i] = RowFactory.create(classes.name(order[i]), p[order[i]]);
        }
        int predicted = order[0];
        int trueIndex = trueLabel == null ? -1 : classes.indexOf(trueLabel);
        Integer known = trueIndex >= 0 ? trueIndex : null;
        Boolean correct = trueLabel == null ? null : predicted == trueIndex;
        Boolean inTopK = null;
        if (trueLabel != null) {
            inTopK = false;
            for (int i = 0; i < topK; i++) {
                if (order[i] == trueIndex) {
                    inTopK = true;
                }
            }
        }
        return RowFactory.create(path, classes.name(predicted), predicted, p[predicted], top, p,
                trueLabel, known, correct, inTopK, modelId, runId, scoredAt, bytes, null, null, null);
    }

    Row rejected(String path, String trueLabel, long bytes, RejectCause cause) {
        return RowFactory.create(path, null, null, null, null, null, trueLabel, null, null, null, modelId, runId, scoredAt,
                bytes, cause.stage(), cause.reason(), cause.message());
    }
}
