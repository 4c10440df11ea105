package org.sparktransfer.inference;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.sparktransfer.data.Iterators;
import org.sparktransfer.data.TensorBatch;
import org.sparktransfer.data.TensorBatcher;
import org.sparktransfer.runtime.TaskWorkspaces;

/**
 * Runs a partition of image rows through this JVM's copy of a model batch by batch, handing each
 * batch to the caller together with the source rows it came from (the batcher keeps only paths
 * and label indices). Shared by scoring and by the feature cache.
 */
public final class ModelBatches {
    private ModelBatches() {}

    @FunctionalInterface
    public interface BatchFunction {
        /** Adds the output rows of one batch; {@code sources.get(i)} is the row of image i. */
        void apply(ComputationGraph net, TensorBatch batch, List<Row> sources, List<Row> out);
    }

    public static Iterator<Row> run(Iterator<Row> rows, TensorBatcher batcher, String modelDir, Configuration conf,
                                    BatchFunction f) {
        if (!rows.hasNext()) {
            return Collections.emptyIterator();
        }
        List<Row> sources = new ArrayList<>();
        Iterator<TensorBatch> batches = batcher.batches(Iterators.map(rows, r -> {
            sources.add(r);
            return r;
        }));
        TaskWorkspaces.releaseAtTaskEnd();
        ComputationGraph net = ModelCache.borrow(modelDir, conf);
        List<Row> out = new ArrayList<>();
        try {
            while (batches.hasNext()) {
                TensorBatch b = batches.next();
                f.apply(net, b, sources, out);
                sources.clear();
            }
        } finally {
            ModelCache.giveBack(modelDir, net);
        }
        return out.iterator();
    }
}
