package org.sparktransfer.train;

import org.apache.spark.api.java.JavaRDD;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.DataSet;

/**
 * What the epoch loop fits and how its result becomes a model: minibatches of images through the
 * whole network, or minibatches of cached backbone features through the head alone.
 */
interface EpochData {
    /** Training minibatches of one (0-based) epoch: augmentation may differ per epoch. */
    JavaRDD<DataSet> train(int epoch);

    /** Validation minibatches, the same every epoch. */
    JavaRDD<DataSet> validation();

    /** The full network to publish from the network being fitted. */
    ComputationGraph toModel(ComputationGraph fitted);
}
