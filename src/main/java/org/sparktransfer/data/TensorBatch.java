package org.sparktransfer.data;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/** A minibatch of preprocessed images (NCHW) with their paths and label indices (-1 = unknown). */
public record TensorBatch(List<String> paths, int[] labels, INDArray features) {

    public int size() {
        return paths.size();
    }

    /** A DL4J DataSet with one-hot labels; every label must be known. */
    public DataSet toDataSet(int numClasses) {
        INDArray oneHot = Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, labels.length, numClasses);
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= numClasses) {
                throw new IllegalStateException("image " + paths.get(i) + " has label index " + labels[i]
                        + " outside [0, " + numClasses + ")");
            }
            oneHot.putScalar(i, labels[i], 1f);
        }
        return new DataSet(features, oneHot);
    }
}
