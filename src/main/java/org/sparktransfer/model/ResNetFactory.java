package org.sparktransfer.model;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.sparktransfer.model.layers.NativeBatchNorm;
import org.sparktransfer.model.layers.NativeConvolution;
import org.sparktransfer.model.layers.NativeRelu;
import org.sparktransfer.model.layers.AddRelu;

/**
 * Builds torchvision-equivalent ResNets as DL4J ComputationGraphs. Every parameterised vertex is named
 * after its torchvision state-dict prefix ({@code conv1}, {@code layer2.0.downsample.0}, {@code fc}) so
 * weights map one-to-one. Each conv, BN and block is built by its own small method: a faster layer
 * implementation can replace one of them later without changing names or parameter layout.
 */
public final class ResNetFactory {

    /** Graph input name. */
    public static final String INPUT = "input";
    /** Global-average-pool vertex: its activations are the pooled features ([N, featureDim]). */
    public static final String AVGPOOL = "avgpool";
    /** Classifier head, an OutputLayer (softmax + MCXENT). */
    public static final String FC = "fc";
    /** Stem output (after max pooling). */
    public static final String STEM_OUT = "maxpool";

    /** torchvision's BatchNorm2d defaults: eps 1e-5, momentum 0.1 (DL4J decay = 1 - momentum). */
    static final double BN_EPS = 1e-5;
    static final double BN_DECAY = 0.9;

    private ResNetFactory() {
    }

    /** Randomly initialised (He normal) network with the default updater (Adam 1e-3). */
    public static ComputationGraph build(ResNetArch arch, int numClasses, int inputSize, long seed) {
        return build(arch, numClasses, inputSize, seed, new Adam(1e-3));
    }

    public static ComputationGraph build(ResNetArch arch, int numClasses, int inputSize, long seed, IUpdater updater) {
        ComputationGraph g = new ComputationGraph(configuration(arch, numClasses, inputSize, seed, updater));
        g.init();
        return g;
    }

    public static ComputationGraphConfiguration configuration(ResNetArch arch, int numClasses, int inputSize,
                                                              long seed, IUpdater updater) {
        return configuration(arch, numClasses, inputSize, seed, updater, false);
    }

    /**
     * @param foldedBatchNorm inference-only layout of {@link BatchNormFolding}: every convolution has a bias and
     *                        no batch-norm vertex follows it; all other vertex names are unchanged
     */
    static ComputationGraphConfiguration configuration(ResNetArch arch, int numClasses, int inputSize,
                                                       long seed, IUpdater updater, boolean foldedBatchNorm) {
        if (numClasses < 1) {
            throw new IllegalArgumentException("numClasses must be >= 1, got " + numClasses);
        }
        if (inputSize < 32) {
            // Five stride-2 reductions: below 32 px the last stage would have no spatial extent left.
            throw new IllegalArgumentException("inputSize must be >= 32, got " + inputSize);
        }
        ComputationGraphConfiguration.GraphBuilder gb = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(DataType.FLOAT)
                .updater(updater)
                .weightInit(WeightInit.RELU)
                // Truncate + explicit padding reproduces PyTorch's floor((n + 2p - k) / s) + 1 output sizes.
                .convolutionMode(ConvolutionMode.Truncate)
                .graphBuilder()
                .addInputs(INPUT)
                .setInputTypes(InputType.convolutional(inputSize, inputSize, 3));

        Blocks blocks = new Blocks(gb, foldedBatchNorm);
        String stem = blocks.convBnRelu("conv1", 3, 64, 7, 2, 3, INPUT, "relu");
        gb.addLayer(STEM_OUT, new SubsamplingLayer.Builder(PoolingType.MAX)
                .kernelSize(3, 3).stride(2, 2).padding(1, 1).dataFormat(activationFormat()).build(), stem);

        String prev = STEM_OUT;
        int inChannels = 64;
        for (int stage = 1; stage <= 4; stage++) {
            int width = 64 << (stage - 1);
            for (int b = 0; b < arch.blocks(stage); b++) {
                int stride = (stage > 1 && b == 0) ? 2 : 1;
                String name = "layer" + stage + "." + b;
                prev = arch.bottleneck()
                        ? blocks.bottleneck(name, inChannels, width, stride, prev)
                        : blocks.basicBlock(name, inChannels, width, stride, prev);
                inChannels = width * arch.expansion();
            }
        }
        gb.addLayer(AVGPOOL, new GlobalPoolingLayer.Builder(PoolingType.AVG)
                .poolingDimensions(activationFormat() == CNN2DFormat.NHWC ? new int[]{1, 2} : new int[]{2, 3})
                .build(), prev);
        gb.addLayer(FC, head(arch.featureDim(), numClasses), AVGPOOL);
        gb.setOutputs(FC);
        return gb.build();
    }

    /** Name of the vertex whose output ends stage {@code layer1..layer4} for this architecture. */
    public static String stageOutput(ResNetArch arch, int stage) {
        return "layer" + stage + "." + (arch.blocks(stage) - 1) + (arch.bottleneck() ? ".relu3" : ".relu2");
    }

    /**
     * Recognises which architecture a graph built by this factory (or loaded from such a graph) is, from its
     * vertex names. Throws if the graph is not one of ours.
     */
    public static ResNetArch detect(ComputationGraph g) {
        for (ResNetArch a : ResNetArch.values()) {
            boolean match = g.getVertex(FC) != null && g.getVertex(AVGPOOL) != null
                    && (g.getVertex("layer1.0.conv3") != null) == a.bottleneck();
            for (int s = 1; s <= 4 && match; s++) {
                match = g.getVertex(stageOutput(a, s)) != null
                        && g.getVertex("layer" + s + "." + a.blocks(s) + ".conv1") == null;
            }
            if (match) {
                return a;
            }
        }
        throw new IllegalArgumentException("Graph is not a ResNet built by ResNetFactory (vertices: "
                + g.getConfiguration().getVertices().keySet().stream().limit(12).toList() + " ...)");
    }

    /**
     * Pre-softmax scores (what PyTorch's model returns) from pooled features ({@code avgpool} activations):
     * DL4J's OutputLayer only exposes softmax probabilities.
     */
    public static org.nd4j.linalg.api.ndarray.INDArray logits(ComputationGraph g,
                                                              org.nd4j.linalg.api.ndarray.INDArray pooled) {
        org.deeplearning4j.nn.api.Layer fc = g.getLayer(FC);
        return pooled.mmul(fc.getParam("W")).addiRowVector(fc.getParam("b"));
    }

    /** The classifier layer configuration: softmax output with multi-class cross-entropy. */
    public static OutputLayer head(int featureDim, int numClasses) {
        return new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                .nIn(featureDim).nOut(numClasses)
                .activation(Activation.SOFTMAX)
                .weightInit(WeightInit.XAVIER)
                .build();
    }

    /**
     * Layout of the activations between layers: NHWC with the native layers (oneDNN's fast layout; the graph
     * input stays NCHW and conv1 converts), NCHW with DL4J's stock layers.
     */
    static CNN2DFormat activationFormat() {
        return LayerImpl.current() == LayerImpl.NATIVE ? CNN2DFormat.NHWC : CNN2DFormat.NCHW;
    }

    /** conv(k x k, stride, padding) without bias, as torchvision's conv3x3/conv1x1/stem conv. */
    static void conv(ComputationGraphConfiguration.GraphBuilder gb, String name, int in, int out,
                     int k, int stride, int pad, String input, boolean bias, boolean relu) {
        ConvolutionLayer.Builder b = new ConvolutionLayer.Builder(k, k)
                .nIn(in).nOut(out)
                .stride(stride, stride).padding(pad, pad)
                .convolutionMode(ConvolutionMode.Truncate)
                .hasBias(bias)
                .activation(relu ? Activation.RELU : Activation.IDENTITY);
        if (LayerImpl.current() == LayerImpl.NATIVE) {
            NativeConvolution c = new NativeConvolution(b, input.equals(INPUT) ? CNN2DFormat.NCHW : CNN2DFormat.NHWC,
                    CNN2DFormat.NHWC);
            // The images need no gradient.
            c.setInputGradient(!input.equals(INPUT));
            gb.addLayer(name, c, input);
        } else {
            gb.addLayer(name, b.build(), input);
        }
    }

    /** BatchNorm2d; useLogStd(false) keeps "var" as a plain variance parameter (torchvision's running_var). */
    static void bn(ComputationGraphConfiguration.GraphBuilder gb, String name, int channels, String input) {
        BatchNormalization stock = new BatchNormalization.Builder()
                .nIn(channels).nOut(channels)
                .eps(BN_EPS).decay(BN_DECAY)
                .useLogStd(false)
                .activation(Activation.IDENTITY)
                .build();
        gb.addLayer(name, LayerImpl.current() == LayerImpl.NATIVE ? NativeBatchNorm.of(stock, CNN2DFormat.NHWC) : stock,
                input);
    }

    /**
     * ReLU. Native: in place in training, as torchvision's {@code ReLU(inplace=True)}: each of these ReLUs is
     * its batch norm's sole consumer and the native batch norm's backprop reads its input, not its output.
     */
    static void relu(ComputationGraphConfiguration.GraphBuilder gb, String name, String input) {
        gb.addLayer(name, LayerImpl.current() == LayerImpl.NATIVE ? new NativeRelu(true)
                : new ActivationLayer.Builder().activation(Activation.RELU).build(), input);
    }

    /**
     * The block's end, {@code relu(branch + shortcut)}, output vertex {@code name.reluN}. Native: one fused
     * vertex of that name ({@link AddRelu}); DL4J: an ElementWiseVertex {@code name.add} and a ReLU layer.
     */
    static String addRelu(ComputationGraphConfiguration.GraphBuilder gb, String name, String relu, String branch,
                          String shortcut) {
        String out = name + "." + relu;
        if (LayerImpl.current() == LayerImpl.NATIVE) {
            gb.addVertex(out, new AddRelu(), branch, shortcut);
        } else {
            gb.addVertex(name + ".add", new ElementWiseVertex(ElementWiseVertex.Op.Add), branch, shortcut);
            relu(gb, out, name + ".add");
        }
        return out;
    }

    /**
     * Name of the batch norm that follows convolution {@code conv} in torchvision's ResNets: {@code conv1} ->
     * {@code bn1}, {@code layerS.B.convK} -> {@code layerS.B.bnK}, {@code layerS.B.downsample.0} -> {@code .1}.
     */
    public static String batchNormAfter(String conv) {
        if (conv.endsWith(".downsample.0")) {
            return conv.substring(0, conv.length() - 1) + "1";
        }
        int dot = conv.lastIndexOf('.') + 1;
        if (!conv.startsWith("conv", dot)) {
            throw new IllegalArgumentException("not a ResNet convolution: " + conv);
        }
        return conv.substring(0, dot) + "bn" + conv.substring(dot + 4);
    }

    /** Builds blocks into one graph, with batch norms or (folded) without. */
    private static final class Blocks {
        private final ComputationGraphConfiguration.GraphBuilder gb;
        private final boolean folded;

        Blocks(ComputationGraphConfiguration.GraphBuilder gb, boolean folded) {
            this.gb = gb;
            this.folded = folded;
        }

        /** Convolution {@code name} and its batch norm; returns the vertex to read the normalised output from. */
        String convBn(String name, int in, int out, int k, int stride, int pad, String input) {
            conv(gb, name, in, out, k, stride, pad, input, folded, false);
            if (folded) {
                return name;
            }
            String bn = batchNormAfter(name);
            bn(gb, bn, out, name);
            return bn;
        }

        /**
         * Convolution, batch norm and ReLU {@code relu}; folded, the convolution with its ReLU fused is the only
         * vertex and the ReLU's name is not in the graph. Returns the output vertex.
         */
        String convBnRelu(String name, int in, int out, int k, int stride, int pad, String input, String relu) {
            if (folded && LayerImpl.current() == LayerImpl.NATIVE) {
                conv(gb, name, in, out, k, stride, pad, input, true, true);
                return name;
            }
            relu(gb, relu, convBn(name, in, out, k, stride, pad, input));
            return relu;
        }

        /** Identity shortcut, or 1x1 conv + BN ({@code downsample.0/.1}) when the shape changes. */
        String shortcut(String name, int in, int out, int stride, String input) {
            if (stride == 1 && in == out) {
                return input;
            }
            return convBn(name + ".downsample.0", in, out, 1, stride, 0, input);
        }

        /** torchvision BasicBlock: conv3x3(stride)-bn-relu-conv3x3-bn, + shortcut, relu. Returns the output vertex. */
        String basicBlock(String name, int in, int width, int stride, String input) {
            String mid = convBnRelu(name + ".conv1", in, width, 3, stride, 1, input, name + ".relu1");
            String branch = convBn(name + ".conv2", width, width, 3, 1, 1, mid);
            return addRelu(gb, name, "relu2", branch, shortcut(name, in, width, stride, input));
        }

        /** torchvision Bottleneck (v1.5: stride on the 3x3): 1x1-bn-relu-3x3(stride)-bn-relu-1x1-bn, + shortcut, relu. */
        String bottleneck(String name, int in, int width, int stride, String input) {
            int out = width * 4;
            String a = convBnRelu(name + ".conv1", in, width, 1, 1, 0, input, name + ".relu1");
            String b = convBnRelu(name + ".conv2", width, width, 3, stride, 1, a, name + ".relu2");
            String branch = convBn(name + ".conv3", width, out, 1, 1, 0, b);
            return addRelu(gb, name, "relu3", branch, shortcut(name, in, out, stride, input));
        }
    }
}
