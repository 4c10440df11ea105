package org.sparktransfer.inference;

import java.sql.Timestamp;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.SerializableConfiguration;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparktransfer.data.ClassIndex;
import org.sparktransfer.data.TensorBatcher;

/**
 * Scores checked image rows {@code (path, label_index, content, label)} in batches with the
 * JVM's copy of the model, emitting rows of {@link PredictionColumns#SCORED}.
 */
public final class BatchScorer implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    private final String modelDir;
    private final String modelId;
    private final String runId;
    private final ClassIndex classes;
    private final TensorBatcher batcher;
    private final int topK;
    private final Timestamp scoredAt;
    private final SerializableConfiguration conf;

    public BatchScorer(String modelDir, String modelId, String runId, ClassIndex classes, TensorBatcher batcher,
                       int topK, Timestamp scoredAt, SerializableConfiguration conf) {
        this.modelDir = modelDir;
        this.modelId = modelId;
        this.runId = runId;
        this.classes = classes;
        this.batcher = batcher;
        this.topK = Math.min(topK, classes.size());
        this.scoredAt = scoredAt;
        this.conf = conf;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        return ModelBatches.run(rows, batcher, modelDir, conf.value(), (net, b, sources, out) -> {
            INDArray probs = net.outputSingle(false, b.features());
            for (int i = 0; i < b.size(); i++) {
                out.add(toRow(b.paths().get(i), sources.get(i), probs.getRow(i).toDoubleVector()));
            }
        });
    }

    private Row toRow(String path, Row source, double[] p) {
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
        String trueLabel = source.isNullAt(3) ? null : source.getString(3);
        int trueIndex = source.getInt(1);
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
                trueLabel, known, correct, inTopK, modelId, runId, scoredAt);
    }
}
