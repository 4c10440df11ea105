package org.sparktransfer.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.sparktransfer.model.layers.NativeConvolution;
import org.sparktransfer.model.layers.NativeRelu;

/**
 * The graph a worker trains when the early layers are frozen: the same network with each frozen batch norm
 * folded into its frozen convolution and a frozen ReLU right after applied in place on the convolution's output,
 * as {@link BatchNormFolding} does for the whole network at inference.
 *
 * <p>Why this is exact: DL4J's {@code FrozenLayer} runs its layer with {@code training=false} and never
 * backpropagates, so a frozen batch norm is a fixed per-channel affine map on every training step, and its
 * parameters and running statistics never change. Folding it removes one pass over every frozen convolution's
 * output and one more for its ReLU, which is most of the frozen prefix's cost beside the convolutions.
 *
 * <p>The folded convolutions hold their weights themselves, outside the training graph's parameter vector
 * ({@link NativeConvolution#setConstantWeights}): DL4J's optimizer passes over that whole vector on every step,
 * frozen parameters included, which was ~9% of a 112 px feature-extraction step; the vector now holds the
 * trainable parameters only.
 *
 * <p>The graph as trained ({@code full}: what the driver averages, checkpoints and saves) keeps its layout.
 * Every layer that is not folded has the same name, configuration and parameters in both graphs (frozen layers
 * carry no updater state); {@link #pull} and {@link #push} move parameters, updater settings and state between
 * the two by parameter name.
 */
public final class FrozenPrefixFolding {

    private final ComputationGraph training;
    private final Set<String> foldedConvolutions;

    private FrozenPrefixFolding(ComputationGraph training, Set<String> foldedConvolutions) {
        this.training = training;
        this.foldedConvolutions = foldedConvolutions;
    }

    /**
     * Whether {@code g} has a frozen convolution with a frozen batch norm after it to fold: a graph of
     * {@link ResNetFactory} with the native layers and a {@link FreezePolicy} applied.
     */
    public static boolean applies(ComputationGraph g) {
        return BatchNormFolding.applies(g) && !foldable(g).isEmpty();
    }

    /** The training graph of {@code full}, holding {@code full}'s parameters and updater state. */
    public static FrozenPrefixFolding of(ComputationGraph full) {
        Set<String> convs = foldable(full);
        if (convs.isEmpty()) {
            throw new IllegalArgumentException("graph has no frozen convolution + batch norm to fold");
        }
        ComputationGraph training = new ComputationGraph(trainingConfiguration(full.getConfiguration(), convs));
        training.init();
        Map<String, INDArray[]> fullState = updaterState(full), trainingState = updaterState(training);
        if (!fullState.keySet().equals(trainingState.keySet())) {
            // Cannot happen for ResNetFactory graphs (the trainable layers are the same); guard all the same.
            throw new IllegalStateException("folding the frozen prefix changed the trainable parameters: "
                    + fullState.keySet() + " vs " + trainingState.keySet());
        }
        FrozenPrefixFolding f = new FrozenPrefixFolding(training, convs);
        f.pull(full);
        return f;
    }

    /** The graph to fit. */
    public ComputationGraph training() {
        return training;
    }

    /**
     * Brings the training graph to {@code full}'s state: the frozen prefix folded anew from {@code full}'s
     * parameters, every other layer's parameters, its updater settings (learning rates change between epochs),
     * updater state and iteration and epoch counters.
     */
    public void pull(ComputationGraph full) {
        for (Layer target : training.getLayers()) {
            String name = target.conf().getLayer().getLayerName();
            if (foldedConvolutions.contains(name)) {
                BatchNormFolding.foldInto(full.getLayer(name), full.getLayer(ResNetFactory.batchNormAfter(name)), target);
            } else if (target.numParams() > 0) {
                target.paramTable().forEach((p, v) -> v.assign(full.getLayer(name).getParam(p)));
            }
        }
        UpdaterSettings.take(training, full.getConfiguration());
        copyState(full, training);
        training.getConfiguration().setIterationCount(full.getConfiguration().getIterationCount());
        training.getConfiguration().setEpochCount(full.getConfiguration().getEpochCount());
    }

    /** Copies what training changed (the trainable layers' parameters and the updater state) into {@code full}. */
    public void push(ComputationGraph full) {
        for (Layer source : training.getLayers()) {
            String name = source.conf().getLayer().getLayerName();
            if (source.numParams() > 0 && !(source instanceof org.deeplearning4j.nn.layers.FrozenLayer)) {
                source.paramTable().forEach((p, v) -> full.getLayer(name).getParam(p).assign(v));
            }
        }
        copyState(training, full);
        full.getConfiguration().setIterationCount(training.getConfiguration().getIterationCount());
        full.getConfiguration().setEpochCount(training.getConfiguration().getEpochCount());
    }

    /** Frozen native convolutions whose batch norm is frozen too, in graph order. */
    static Set<String> foldable(ComputationGraph g) {
        Set<String> convs = new LinkedHashSet<>();
        Map<String, GraphVertex> vertices = g.getConfiguration().getVertices();
        for (Map.Entry<String, GraphVertex> e : vertices.entrySet()) {
            if (frozen(e.getValue()) instanceof NativeConvolution) {
                String bn;
                try {
                    bn = ResNetFactory.batchNormAfter(e.getKey());
                } catch (IllegalArgumentException notAResNetConvolution) {
                    continue;
                }
                if (frozen(vertices.get(bn)) instanceof org.deeplearning4j.nn.conf.layers.BatchNormalization
                        && g.getConfiguration().getVertexInputs().get(bn).equals(List.of(e.getKey()))) {
                    convs.add(e.getKey());
                }
            }
        }
        return convs;
    }

    /** {@code conf} with the batch norm after each of {@code convs} removed and folded ReLUs fused. */
    static ComputationGraphConfiguration trainingConfiguration(ComputationGraphConfiguration conf, Set<String> convs) {
        ComputationGraphConfiguration c = conf.clone();
        Map<String, List<String>> inputs = c.getVertexInputs();
        for (String conv : convs) {
            NativeConvolution layer = (NativeConvolution) frozen(c.getVertices().get(conv));
            layer.setHasBias(true);
            layer.setConstantWeights(true);
            ((LayerVertex) c.getVertices().get(conv)).getLayerConf().clearVariables();
            bypass(c, ResNetFactory.batchNormAfter(conv), conv);
            List<String> consumers = consumers(inputs, conv);
            if (consumers.size() == 1 && frozen(c.getVertices().get(consumers.get(0))) instanceof NativeRelu
                    && inputs.get(consumers.get(0)).equals(List.of(conv))) {
                layer.setActivationFn(new ActivationReLU());
                bypass(c, consumers.get(0), conv);
            }
        }
        c.setTopologicalOrder(null);
        c.setTopologicalOrderStr(null);
        return c;
    }

    /** Removes vertex {@code name}; its consumers read {@code replacement} instead. */
    private static void bypass(ComputationGraphConfiguration c, String name, String replacement) {
        c.getVertices().remove(name);
        c.getVertexInputs().remove(name);
        c.getVertexInputs().replaceAll((v, in) -> in.stream().map(i -> i.equals(name) ? replacement : i).toList());
        if (c.getNetworkOutputs().contains(name)) {
            throw new IllegalArgumentException("cannot fold away the network output " + name);
        }
    }

    private static List<String> consumers(Map<String, List<String>> inputs, String vertex) {
        List<String> out = new ArrayList<>();
        inputs.forEach((v, in) -> {
            if (in.contains(vertex)) {
                out.add(v);
            }
        });
        return out;
    }

    /** The layer configuration inside a frozen layer vertex, or null if the vertex is not a frozen layer. */
    private static org.deeplearning4j.nn.conf.layers.Layer frozen(GraphVertex v) {
        return v instanceof LayerVertex lv && lv.getLayerConf().getLayer() instanceof FrozenLayer f ? f.getLayer() : null;
    }

    private static void copyState(ComputationGraph from, ComputationGraph to) {
        Map<String, INDArray[]> source = updaterState(from);
        updaterState(to).forEach((param, parts) -> {
            INDArray[] src = source.get(param);
            for (int k = 0; k < parts.length; k++) {
                parts[k].assign(src[k]);
            }
        });
    }

    /**
     * Each trainable parameter's updater state ("layer/param" -> one view per state array of its updater, e.g.
     * Adam's m and v), by name: the two graphs order their updater blocks differently where the topological
     * order of a stage's first convolution and its downsample convolution differs.
     */
    static Map<String, INDArray[]> updaterState(ComputationGraph g) {
        Map<String, INDArray[]> state = new LinkedHashMap<>();
        for (UpdaterBlock b : g.getUpdater().getUpdaterBlocks()) {
            INDArray view = b.getUpdaterView();
            if (view == null || view.length() == 0) {
                continue;
            }
            long blockLength = b.getParamOffsetEnd() - b.getParamOffsetStart();
            if (view.length() % blockLength != 0) {
                throw new IllegalStateException("unexpected updater state layout of " + b.getGradientUpdater().getConfig());
            }
            int arrays = (int) (view.length() / blockLength);
            INDArray flat = view.reshape(view.length());
            for (UpdaterBlock.ParamState s : b.getLayersAndVariablesInBlock()) {
                long start = s.getParamOffsetStart() - b.getParamOffsetStart();
                long end = s.getParamOffsetEnd() - b.getParamOffsetStart();
                INDArray[] parts = new INDArray[arrays];
                for (int k = 0; k < arrays; k++) {
                    parts[k] = flat.get(NDArrayIndex.interval(k * blockLength + start, k * blockLength + end));
                }
                state.put(s.getLayer().getConfig().getLayerName() + "/" + s.getParamName(), parts);
            }
        }
        return state;
    }
}
