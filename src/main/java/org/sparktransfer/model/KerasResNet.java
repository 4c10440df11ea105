package org.sparktransfer.model;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.sparktransfer.data.image.Preprocessing;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A ResNet-50 in the Keras layout of DL4J's model zoo ({@code org.deeplearning4j.zoo.model.ResNet50}, saved with
 * ModelSerializer), used as it is: its stem, its blocks ({@code res2a_branch2a}, {@code bn2a_branch2a}, ...
 * {@code res5c_branch}: stride on the first 1x1 conv, conv biases, its own batch norm) and its pooling vertex
 * {@code avgpool}. It cannot be mapped onto the torchvision layout, so only the classifier is replaced: the new
 * head is called {@code fc} like this project's, so scoring, feature caching and checkpoints treat both kinds alike.
 *
 * <p>Stages for {@code --freeze}: stem = everything before {@code res2a_branch2a} (the zoo's {@code stem-*} or, in
 * older zoo versions, {@code conv1}/{@code bn_conv1}); layer1..layer4 = Keras stages 2..5, each ending at its last
 * block's {@code res<stage><last letter>_branch} activation; backbone = up to {@code avgpool}.
 *
 * <p>Input: NCHW float, RGB, 0-255 minus the ImageNet mean per channel (VGG style, no scaling), which is what DL4J's
 * pretrained ResNet-50 was trained with. {@link #preprocessing(Preprocessing)} expresses it as the project's
 * Normalize(mean, std) with mean = m / 255 and std = 1 / 255, so the model manifest records it and PredictJob
 * applies the same.
 */
public final class KerasResNet {

    /** The zoo's pooling vertex before the classifier. */
    public static final String POOL = "avgpool";
    /** First convolution of the first block: what the stem feeds. */
    static final String FIRST_BLOCK = "res2a_branch2a";
    /** DL4J's/VGG's ImageNet channel means on the 0-255 scale, RGB. */
    static final double[] MEAN_0_255 = {123.68, 116.779, 103.939};
    private static final Pattern BLOCK_OUTPUT = Pattern.compile("res([2-5])([a-z])_branch");

    private KerasResNet() {
    }

    /** Whether {@code g} is a zoo-style Keras ResNet (with its original classifier or with one of ours). */
    public static boolean matches(ComputationGraph g) {
        return g.getVertex(FIRST_BLOCK) != null && g.getVertex("res5a_branch2a") != null && g.getVertex(POOL) != null
                && g.getConfiguration().getNetworkOutputs().size() == 1;
    }

    /** The classifier's vertex name: the graph's single output ({@code output} or {@code fc1000} in the zoo). */
    static String head(ComputationGraph g) {
        return g.getConfiguration().getNetworkOutputs().get(0);
    }

    /** Last vertex of the stem: the input of the first block. */
    static String stemOutput(ComputationGraph g) {
        return g.getConfiguration().getVertexInputs().get(FIRST_BLOCK).get(0);
    }

    /** Output vertex of stage {@code layer<stage>} (Keras stage stage + 1), e.g. res4f_branch for stage 3. */
    static String stageOutput(ComputationGraph g, int stage) {
        char last = 0;
        for (String name : g.getConfiguration().getVertices().keySet()) {
            Matcher m = BLOCK_OUTPUT.matcher(name);
            if (m.matches() && Integer.parseInt(m.group(1)) == stage + 1 && m.group(2).charAt(0) > last) {
                last = m.group(2).charAt(0);
            }
        }
        if (last == 0) {
            throw new IllegalArgumentException("Keras ResNet without a res" + (stage + 1) + "?_branch vertex");
        }
        return "res" + (stage + 1) + last + "_branch";
    }

    /**
     * The graph with its classifier replaced by {@code fc} with {@code numClasses} outputs (freshly initialised
     * from {@code seed}); returned unchanged when it already has such a head. The classifier's input is the pooled
     * activation flattened for the input size the graph was built for: {@code inputSize} must give the same.
     */
    public static ComputationGraph withHead(ComputationGraph g, int numClasses, int inputSize, long seed) {
        String head = head(g);
        long features = g.getLayer(head).getParam("W").size(0);
        long pooled = pooledFeatures(g, inputSize);
        if (pooled != features) {
            throw new IllegalArgumentException("The DL4J zoo ResNet's classifier takes " + features
                    + " pooled features, but at " + inputSize + " px its pooling gives " + pooled
                    + ": use the image size the graph was built for (--image-size; 224 for DL4J's pretrained ResNet50)");
        }
        if (head.equals(ResNetFactory.FC) && g.getLayer(head).getParam("W").size(1) == numClasses) {
            return g;
        }
        return HeadReplacer.replace(g, head, numClasses, seed);
    }

    /** Values per image that the pooling vertex yields at {@code inputSize} (shape inference only, no data). */
    static long pooledFeatures(ComputationGraph g, int inputSize) {
        ComputationGraphConfiguration conf = g.getConfiguration().clone();
        Map<String, InputType> types;
        try {
            types = conf.getLayerActivationTypes(InputType.convolutional(inputSize, inputSize, 3));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("The DL4J zoo ResNet cannot take " + inputSize + " px images: "
                    + e.getMessage(), e);
        }
        return types.get(POOL).arrayElementsPerExample();
    }

    /** {@code requested} (sizes, augmentation) with the zoo ResNet's normalisation: RGB 0-255 minus the mean. */
    public static Preprocessing preprocessing(Preprocessing requested) {
        double[] mean = new double[3];
        double[] std = new double[3];
        for (int c = 0; c < 3; c++) {
            mean[c] = MEAN_0_255[c] / 255.0;
            std[c] = 1.0 / 255.0;
        }
        return requested.toBuilder().mean(mean).std(std).build();
    }
}
