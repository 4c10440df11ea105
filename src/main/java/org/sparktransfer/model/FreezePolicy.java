package org.sparktransfer.model;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.TransferLearning;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How much of the backbone to freeze, counted from the input: each policy freezes up to and including the
 * named stage; BACKBONE freezes everything except {@code fc}.
 *
 * <p>Freezing uses DL4J's TransferLearning feature extractor, which wraps every layer up to the boundary in
 * {@code FrozenLayer}. That wrapper always runs the wrapped layer with {@code training=false} (so frozen
 * BatchNorm normalises with its running statistics, like PyTorch's eval-mode BN) and skips its backprop,
 * which is where DL4J's BN updates its running mean/variance: frozen statistics never move. FreezePolicyTest
 * checks both, bit for bit.
 */
public enum FreezePolicy {
    NONE, STEM, LAYER1, LAYER2, LAYER3, LAYER4, BACKBONE;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static FreezePolicy fromCliName(String name) {
        if (name != null) {
            for (FreezePolicy p : values()) {
                if (p.cliName().equals(name.trim().toLowerCase(Locale.ROOT))) {
                    return p;
                }
            }
        }
        throw new IllegalArgumentException("Unknown freeze policy '" + name + "'; choose one of: "
                + Arrays.stream(values()).map(FreezePolicy::cliName).collect(Collectors.joining(", ")));
    }

    /** Last vertex frozen by this policy for the given architecture, or null for NONE. */
    public String boundary(ResNetArch arch) {
        switch (this) {
            case NONE:
                return null;
            case STEM:
                return ResNetFactory.STEM_OUT;
            case BACKBONE:
                return ResNetFactory.AVGPOOL;
            default:
                return ResNetFactory.stageOutput(arch, ordinal() - 1);
        }
    }

    /**
     * Last vertex frozen by this policy in {@code g}, or null for NONE: a graph of {@link ResNetFactory} or a DL4J
     * zoo ResNet used as is ({@link KerasResNet}: stem = before res2a, layer1..layer4 = Keras stages 2..5).
     */
    public String boundary(ComputationGraph g) {
        if (this == NONE || !KerasResNet.matches(g)) {
            return this == NONE ? null : boundary(ResNetFactory.detect(g));
        }
        switch (this) {
            case STEM:
                return KerasResNet.stemOutput(g);
            case BACKBONE:
                return KerasResNet.POOL;
            default:
                return KerasResNet.stageOutput(g, ordinal() - 1);
        }
    }

    /**
     * Returns a new graph with this policy's layers frozen (parameters, BN statistics and the updater
     * configuration are carried over). NONE returns the graph unchanged.
     */
    public ComputationGraph apply(ComputationGraph g) {
        String boundary = boundary(g);
        if (boundary == null) {
            return g;
        }
        // setFeatureExtractor freezes the named vertex and every vertex it depends on.
        return new TransferLearning.GraphBuilder(g).setFeatureExtractor(boundary).build();
    }
}
