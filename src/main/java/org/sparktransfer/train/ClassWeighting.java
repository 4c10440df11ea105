package org.sparktransfer.train;

import java.util.Map;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparktransfer.data.ClassIndex;
import org.sparktransfer.model.ResNetFactory;

/** Class-weighted cross-entropy for imbalanced data, set on the head's loss before training. */
final class ClassWeighting {
    private static final Logger LOG = LoggerFactory.getLogger(ClassWeighting.class);

    private ClassWeighting() {}

    /** Weights n / (C * n_c) from the training counts; a class without training images gets weight 0. */
    static double[] balanced(ClassIndex classes, Map<String, Long> trainCounts) {
        long total = trainCounts.values().stream().mapToLong(Long::longValue).sum();
        double[] w = new double[classes.size()];
        for (int c = 0; c < w.length; c++) {
            long n = trainCounts.getOrDefault(classes.name(c), 0L);
            w[c] = n == 0 ? 0 : total / (double) (classes.size() * n);
        }
        return w;
    }

    static void applyBalanced(ComputationGraph net, ClassIndex classes, Map<String, Long> trainCounts) {
        double[] w = balanced(classes, trainCounts);
        BaseOutputLayer head = (BaseOutputLayer) net.getLayer(ResNetFactory.FC).conf().getLayer();
        head.setLossFn(new LossMCXENT(Nd4j.create(w).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT)));
        LOG.info("Class-weighted loss: {}", java.util.Arrays.toString(w));
    }
}
