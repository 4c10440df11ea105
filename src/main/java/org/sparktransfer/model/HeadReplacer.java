package org.sparktransfer.model;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.SplittableRandom;

/** Swaps the classifier {@code fc} for a freshly initialised one; the backbone (and its freezing) is kept. */
public final class HeadReplacer {

    private HeadReplacer() {
    }

    public static ComputationGraph replaceHead(ComputationGraph g, int numClasses, long seed) {
        if (numClasses < 1) {
            throw new IllegalArgumentException("numClasses must be >= 1, got " + numClasses);
        }
        ResNetArch arch = ResNetFactory.detect(g);
        // A layer added through TransferLearning gets DL4J's defaults (plain Sgd 1e-3), not the graph's
        // updater: clone the old head's configuration (updater, regularisation, loss) and only resize it.
        org.deeplearning4j.nn.conf.layers.Layer old = g.getLayer(ResNetFactory.FC).conf().getLayer();
        if (old instanceof org.deeplearning4j.nn.conf.layers.misc.FrozenLayer f) {
            old = f.getLayer();
        }
        FeedForwardLayer head = (FeedForwardLayer) old.clone();
        head.setNIn(arch.featureDim());
        head.setNOut(numClasses);
        ComputationGraph out = new TransferLearning.GraphBuilder(g)
                .removeVertexKeepConnections(ResNetFactory.FC)
                .addLayer(ResNetFactory.FC, head, ResNetFactory.AVGPOOL)
                .setOutputs(ResNetFactory.FC)
                .build();
        initHead(out, seed);
        return out;
    }

    /**
     * Initialises fc as torch.nn.Linear does: weight and bias ~ U(-1/sqrt(fanIn), 1/sqrt(fanIn)). A private
     * seeded generator (not ND4J's global RNG) keeps it reproducible whatever else ran in this JVM/thread.
     */
    static void initHead(ComputationGraph g, long seed) {
        Layer fc = g.getLayer(ResNetFactory.FC);
        INDArray w = fc.getParam("W");
        INDArray b = fc.getParam("b");
        long fanIn = w.size(0);
        double bound = 1.0 / Math.sqrt(fanIn);
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] wv = new float[(int) w.length()];
        for (int i = 0; i < wv.length; i++) {
            wv[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
        }
        float[] bv = new float[(int) b.length()];
        for (int i = 0; i < bv.length; i++) {
            bv[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
        }
        w.assign(Nd4j.create(wv, w.shape(), 'c'));
        b.assign(Nd4j.create(bv, b.shape(), 'c'));
    }
}
