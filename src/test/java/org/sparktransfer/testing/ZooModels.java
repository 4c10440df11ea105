package org.sparktransfer.testing;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.util.ModelSerializer;
import org.deeplearning4j.zoo.model.ResNet50;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.dataset.DataSet;

/**
 * DL4J's zoo ResNet50 (Keras layout, 1000 classes) built by the zoo itself, standing in for DL4J's pretrained
 * file, which cannot be downloaded here. Its batch norms get calibrated running statistics and random scales, so
 * that activations stay finite and "uses running statistics" is observable. 96 px is about the smallest input
 * its pooling takes.
 */
public final class ZooModels {
    private ZooModels() {
    }

    public static ComputationGraph resnet50(int size, long seed) {
        ComputationGraph zoo = (ComputationGraph) ResNet50.builder().numClasses(1000).seed(seed)
                .inputShape(new int[] {3, size, size}).build().init();
        calibrate(zoo, size, seed);
        return zoo;
    }

    /**
     * Gives every batch norm a random scale and, as running statistics, the batch statistics of its input on a
     * random batch in the zoo's input range (0-255 minus the mean): one training step with learning rate 0 and
     * momentum (decay) 0, so only the statistics move. Without this, the zoo's random initialisation makes
     * activations overflow to NaN by stage 5.
     */
    static void calibrate(ComputationGraph zoo, int size, long seed) {
        Nd4j.getRandom().setSeed(seed + 1);
        List<BatchNormalization> bns = new ArrayList<>();
        for (Layer l : zoo.getLayers()) {
            if (l.conf().getLayer() instanceof BatchNormalization bn) {
                l.getParam("gamma").assign(Nd4j.rand(DataType.FLOAT, l.getParam("gamma").shape()).addi(0.5));
                bns.add(bn);
                bn.setDecay(0);
            }
        }
        INDArray x = Nd4j.rand(DataType.FLOAT, 8, 3, size, size).muli(255).subi(128);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 8, 1000);
        for (int i = 0; i < 8; i++) {
            y.putScalar(i, i * 7, 1f);
        }
        double rate = ((BaseLayer) zoo.getLayer("stem-cnn1").conf().getLayer()).getIUpdater().getLearningRate(0, 0);
        zoo.setLearningRate(0.0);
        INDArray before = zoo.getLayer("res3a_branch2a").params().dup();
        zoo.fit(new DataSet(x, y));
        if (!before.equals(zoo.getLayer("res3a_branch2a").params())) {
            throw new IllegalStateException("calibration changed weights");
        }
        bns.forEach(bn -> bn.setDecay(0.9));
        zoo.setLearningRate(rate); // the zoo's own (RmsProp 0.1), as its file would carry
    }

    /** Saves the graph as a ModelSerializer zip (no updater), as DL4J's zoo files are. */
    public static Path save(ComputationGraph g, Path zip) throws IOException {
        ModelSerializer.writeModel(g, zip.toFile(), false);
        return zip;
    }
}
