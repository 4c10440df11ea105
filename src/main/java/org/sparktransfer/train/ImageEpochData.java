package org.sparktransfer.train;

import java.util.List;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.deeplearning4j.core.loader.DataSetLoader;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.DataSet;
import org.sparktransfer.config.TrainConfig;
import org.sparktransfer.data.Iterators;
import org.sparktransfer.data.TensorBatch;
import org.sparktransfer.data.TensorBatcher;
import org.sparktransfer.io.ImageBatchFiles;

/**
 * Images through the whole network: decoded and augmented anew every epoch on the executors. Exported epochs
 * hold the encoded images, grouped into the minibatches {@link TensorBatcher} would make in the task, and are
 * decoded by the training workers' loader ({@link ImageBatchLoader}) while the previous minibatch trains.
 */
final class ImageEpochData implements EpochData {
    private final TrainConfig config;
    private final JavaRDD<Row> trainRows;
    private final JavaRDD<Row> valRows;
    private final int numClasses;

    /** Rows are (path, label_index, content, relative_path). */
    ImageEpochData(TrainConfig config, JavaRDD<Row> trainRows, JavaRDD<Row> valRows, int numClasses) {
        this.config = config;
        this.trainRows = trainRows;
        this.valRows = valRows;
        this.numClasses = numClasses;
    }

    @Override
    public JavaRDD<DataSet> train(int epoch) {
        return dataSets(trainRows, batcher(TensorBatcher.Mode.TRAIN, epoch));
    }

    @Override
    public MinibatchExport exportTrain(JavaSparkContext jsc, int epoch, Path root, String label) {
        TensorBatcher batcher = batcher(TensorBatcher.Mode.TRAIN, epoch);
        JavaRDD<List<Row>> minibatches = trainRows.mapPartitions(batcher::minibatches);
        return MinibatchExport.write(jsc, minibatches, ImageBatchFiles::write, root, label);
    }

    @Override
    public DataSetLoader trainLoader(int epoch) {
        return new ImageBatchLoader(batcher(TensorBatcher.Mode.TRAIN, epoch), numClasses);
    }

    @Override
    public JavaRDD<DataSet> validation() {
        return dataSets(valRows, batcher(TensorBatcher.Mode.EVAL, 0));
    }

    @Override
    public ComputationGraph toModel(ComputationGraph fitted) {
        return fitted;
    }

    private TensorBatcher batcher(TensorBatcher.Mode mode, int epoch) {
        return new TensorBatcher(config.preprocessing(), mode, config.seed(), epoch,
                config.master().batchSizePerWorker(), config.maxPixels());
    }

    private JavaRDD<DataSet> dataSets(JavaRDD<Row> rows, TensorBatcher batcher) {
        int nc = numClasses;
        return rows.mapPartitions(it -> Iterators.map(batcher.batches(it), (TensorBatch b) -> b.toDataSet(nc)));
    }
}
