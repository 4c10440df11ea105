package org.sparktransfer.model;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
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
        ResNetFactory.detect(g);
        return replace(g, ResNetFactory.FC, numClasses, seed);
    }

    /**
     * Replaces the output layer {@code oldHead} by {@code fc} with {@code numClasses} outputs on the same input
     * (same number of features, same input preprocessor), initialised from {@code seed}.
     */
    static ComputationGraph replace(ComputationGraph g, String oldHead, int numClasses, long seed) {
        if (numClasses < 1) {
            throw new IllegalArgumentException("numClasses must be >= 1, got " + numClasses);
        }
        // A layer added through TransferLearning gets DL4J's defaults (plain Sgd 1e-3), not the graph's
        // updater: clone the old head's configuration (updater, regularisation, loss) and only resize it.
        org.deeplearning4j.nn.conf.layers.Layer old = g.getLayer(oldHead).conf().getLayer();
        if (old instanceof org.deeplearning4j.nn.conf.layers.misc.FrozenLayer f) {
            old = f.getLayer();
        }
        FeedForwardLayer head = (FeedForwardLayer) old.clone();
        head.setNIn(g.getLayer(oldHead).getParam("W").size(0));
        head.setNOut(numClasses);
        String input = g.getConfiguration().getVertexInputs().get(oldHead).get(0);
        InputPreProcessor pre = ((LayerVertex) g.getConfiguration().getVertices().get(oldHead)).getPreProcessor();
        ComputationGraph out = new TransferLearning.GraphBuilder(g)
                .removeVertexKeepConnections(oldHead)
                .addLayer(ResNetFactory.FC, head, pre == null ? null : pre.clone(), input)
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
