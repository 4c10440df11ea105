package org.sparktransfer.train;

import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.core.loader.DataSetLoader;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.DataSet;
import org.sparktransfer.io.DataSetFiles;

/**
 * What the epoch loop fits and how its result becomes a model: minibatches of images through the
 * whole network, or minibatches of cached backbone features through the head alone.
 */
interface EpochData {
    /** Training minibatches of one (0-based) epoch: augmentation may differ per epoch. */
    JavaRDD<DataSet> train(int epoch);

    /**
     * Writes one (0-based) epoch's training minibatches to files for path-based fitting, which
     * {@link #trainLoader} turns back into the minibatches of {@link #train}. By default the tensors themselves.
     */
    default MinibatchExport exportTrain(JavaSparkContext jsc, int epoch, Path root, String label) {
        return MinibatchExport.write(jsc, train(epoch), root, label);
    }

    /** What the training workers load {@link #exportTrain}'s files with. */
    default DataSetLoader trainLoader(int epoch) {
        return new DataSetFiles.Loader();
    }

    /** Validation minibatches, the same every epoch. */
    JavaRDD<DataSet> validation();

    /** The full network to publish from the network being fitted. */
    ComputationGraph toModel(ComputationGraph fitted);
}
