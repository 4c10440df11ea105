package org.sparktransfer.model;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.FrozenLayer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.sparktransfer.model.layers.NativeConvolutionImpl;

/**
 * Inference copy of a {@link ResNetFactory} graph with every batch norm folded into the convolution before it:
 * in eval mode BN is the per-channel affine map {@code y = s*x + t} with {@code s = gamma / sqrt(var + eps)},
 * {@code t = beta - s*mean}, so {@code conv(x, W)} followed by it equals {@code conv(x, s*W) + t}. That removes
 * one full pass over every convolution's output (a fifth of ResNet-18's forward time measured vertex by
 * vertex) at no cost in the convolution, whose bias add oneDNN fuses; a ReLU right after is applied in place
 * on the convolution's output instead of into a new array. The batch norms and those ReLUs are not in the
 * copy; every other vertex name is, so {@code avgpool}, the stage outputs and {@code fc} read as before.
 *
 * <p>Only for inference (PredictJob's scoring, feature extraction, validation): the copy has no batch norms to
 * train and is never saved. Arithmetic is done in double and rounded once, so the folded network matches the
 * unfolded one to float32 rounding (tested against torchvision in ResNetParityTest).
 */
public final class BatchNormFolding {

    private static final int NOMINAL_SIZE = 224;

    private BatchNormFolding() {
    }

    /** Whether {@link #fold} applies: a graph of {@link ResNetFactory} (not a DL4J zoo graph). */
    public static boolean applies(ComputationGraph g) {
        try {
            ResNetFactory.detect(g);
            return g.getVertex("bn1") != null;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** The folded copy of {@code g}; {@code g} is not changed. */
    public static ComputationGraph fold(ComputationGraph g) {
        ResNetArch arch = ResNetFactory.detect(g);
        Layer fc = inner(g.getLayer(ResNetFactory.FC));
        int classes = (int) fc.getParam("W").size(1);
        // The configuration's input size only seeds DL4J's shape inference: every layer's channels are explicit
        // and the network ends in global pooling, so the copy accepts whatever size the source accepts.
        ComputationGraph f = new ComputationGraph(
                ResNetFactory.configuration(arch, classes, NOMINAL_SIZE, 0, new NoOp(), true));
        f.init();
        for (Layer target : f.getLayers()) {
            String name = target.conf().getLayer().getLayerName();
            if (target.numParams() == 0) {
                continue;
            }
            if (name.equals(ResNetFactory.FC)) {
                target.getParam("W").assign(fc.getParam("W"));
                target.getParam("b").assign(fc.getParam("b"));
                continue;
            }
            foldInto(g.getLayer(name), g.getLayer(ResNetFactory.batchNormAfter(name)), target);
        }
        return f;
    }

    /**
     * Sets {@code target}'s weights and bias to convolution {@code conv} (no bias) followed by batch norm {@code bn}
     * in eval mode; either may be wrapped in a {@code FrozenLayer}.
     */
    static void foldInto(Layer conv, Layer bn, Layer target) {
        conv = inner(conv);
        bn = inner(bn);
        double eps = ((org.deeplearning4j.nn.conf.layers.BatchNormalization) bn.conf().getLayer()).getEps();
        INDArray gamma = vec(bn.getParam("gamma")), beta = vec(bn.getParam("beta"));
        INDArray mean = vec(bn.getParam("mean")), var = vec(bn.getParam("var"));
        INDArray scale = gamma.div(Transforms.sqrt(var.add(eps), false));
        INDArray w = conv.getParam("W").castTo(DataType.DOUBLE).dup(); // [out, in, kh, kw]; castTo does not copy a double
        w.reshape(w.size(0), w.length() / w.size(0)).muliColumnVector(scale.reshape(scale.length(), 1));
        target.getParam("W").assign(w.castTo(target.getParam("W").dataType()));
        INDArray bias = beta.sub(scale.mul(mean));
        target.getParam("b").assign(bias.castTo(target.getParam("b").dataType()).reshape(target.getParam("b").shape()));
        if (inner(target) instanceof NativeConvolutionImpl folded) {
            // Inference-only from here on, and rewritten only by this method: oneDNN may keep its reordered weights.
            folded.fixWeights();
        }
    }

    private static Layer inner(Layer l) {
        if (l == null) {
            throw new IllegalArgumentException("graph lacks a layer BatchNormFolding needs");
        }
        return l instanceof FrozenLayer fl ? fl.getInsideLayer() : l;
    }

    private static INDArray vec(INDArray p) {
        return p.castTo(DataType.DOUBLE).reshape(p.length());
    }
}
