package org.sparktransfer.model;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.layers.FrozenLayer;
import org.deeplearning4j.nn.layers.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A torchinfo-style table: per vertex its input and output shapes, parameter count and trainability, then
 * totals counted as PyTorch counts them: BatchNorm running mean/variance are buffers there, not parameters,
 * while DL4J stores them as parameters (its numParams() is larger by 2 x BN channels).
 */
public final class ModelSummary {

    /** DL4J BN parameters that PyTorch keeps as buffers. */
    private static final Set<String> BN_BUFFERS = Set.of(BatchNormalizationParamInitializer.GLOBAL_MEAN,
            BatchNormalizationParamInitializer.GLOBAL_VAR, BatchNormalizationParamInitializer.GLOBAL_LOG_STD);

    private ModelSummary() {
    }

    /** Totals in PyTorch's convention. */
    public record Counts(long total, long trainable) {
        public long nonTrainable() {
            return total - trainable;
        }
    }

    public static Counts counts(ComputationGraph g) {
        long total = 0;
        long trainable = 0;
        for (Layer l : g.getLayers()) {
            long n = torchParams(l);
            total += n;
            if (!isFrozen(l)) {
                trainable += n;
            }
        }
        return new Counts(total, trainable);
    }

    /** Number of parameters PyTorch would report for this layer (BN running statistics excluded). */
    public static long torchParams(Layer l) {
        long n = 0;
        for (Map.Entry<String, INDArray> e : l.paramTable().entrySet()) {
            if (!(isBatchNorm(l) && BN_BUFFERS.contains(e.getKey()))) {
                n += e.getValue().length();
            }
        }
        return n;
    }

    public static boolean isFrozen(Layer l) {
        return l instanceof FrozenLayer || l instanceof FrozenLayerWithBackprop;
    }

    private static Layer unwrap(Layer l) {
        if (l instanceof FrozenLayer f) {
            return f.getInsideLayer();
        }
        if (l instanceof FrozenLayerWithBackprop f) {
            return f.getInsideLayer();
        }
        return l;
    }

    private static boolean isBatchNorm(Layer l) {
        return unwrap(l) instanceof org.deeplearning4j.nn.layers.normalization.BatchNormalization;
    }

    public static String render(ComputationGraph g, int inputSize) {
        ComputationGraphConfiguration conf = g.getConfiguration().clone();
        InputType in = InputType.convolutional(inputSize, inputSize, 3);
        // On a clone: computing activation types sets nIn/preprocessors (a zoo graph needs its CNN-to-dense one).
        Map<String, InputType> types = conf.getLayerActivationTypes(in);
        Map<String, List<String>> inputs = conf.getVertexInputs();

        String fmt = "%-28s %-22s %-24s %-20s %12s %-9s%n";
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(fmt, "Layer (name)", "Type", "Input Shape", "Output Shape", "Param #", "Trainable"));
        sb.append("=".repeat(120)).append('\n');
        for (int idx : g.topologicalSortOrder()) {
            GraphVertex v = g.getVertices()[idx];
            String name = v.getVertexName();
            if (v.isInputVertex()) {
                continue;
            }
            String type;
            String params = "--";
            String trainable = "--";
            if (v.hasLayer()) {
                Layer l = v.getLayer();
                type = unwrap(l).getClass().getSimpleName();
                long n = torchParams(l);
                if (n > 0) {
                    params = String.format("%,d", n);
                    trainable = isFrozen(l) ? "False" : "True";
                }
            } else {
                org.deeplearning4j.nn.conf.graph.GraphVertex cv = conf.getVertices().get(name);
                if (cv instanceof org.deeplearning4j.nn.conf.graph.FrozenVertex f) {
                    cv = f.getUnderlying();
                }
                type = cv.getClass().getSimpleName();
            }
            List<String> inShapes = inputs.getOrDefault(name, List.of()).stream()
                    .map(i -> shape(types.containsKey(i) ? types.get(i) : in)).distinct().toList();
            int nIn = inputs.getOrDefault(name, List.of()).size();
            // Elementwise add: both inputs have one shape; "2 x [..]" keeps the columns aligned.
            String inShape = inShapes.size() == 1 && nIn > 1 ? nIn + " x " + inShapes.get(0)
                    : String.join(" ", inShapes);
            sb.append(String.format(fmt, name, type, inShape, shape(types.get(name)), params, trainable));
        }
        Counts c = counts(g);
        sb.append("=".repeat(120)).append('\n');
        sb.append(String.format("Total params: %,d%n", c.total()));
        sb.append(String.format("Trainable params: %,d%n", c.trainable()));
        sb.append(String.format("Non-trainable params: %,d%n", c.nonTrainable()));
        return sb.toString();
    }

    static String shape(InputType t) {
        if (t == null) {
            return "?";
        }
        if (t instanceof InputType.InputTypeConvolutional c) {
            // PyTorch's NCHW convention whatever layout the layers compute in (the native layers use NHWC).
            return Arrays.toString(new long[]{-1, c.getChannels(), c.getHeight(), c.getWidth()});
        }
        long[] s = t.getShape(true);
        s[0] = -1;
        return Arrays.toString(s);
    }

    /** Usage: ModelSummary [arch=resnet18] [numClasses=1000] [inputSize=224] [freeze=none] */
    public static void main(String[] args) {
        ResNetArch arch = ResNetArch.fromCliName(args.length > 0 ? args[0] : "resnet18");
        int numClasses = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        int size = args.length > 2 ? Integer.parseInt(args[2]) : 224;
        FreezePolicy freeze = FreezePolicy.fromCliName(args.length > 3 ? args[3] : "none");
        ComputationGraph g = freeze.apply(ResNetFactory.build(arch, numClasses, size, 42));
        System.out.print(render(g, size));
    }
}
