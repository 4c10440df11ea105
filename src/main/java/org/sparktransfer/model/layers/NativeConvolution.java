package org.sparktransfer.model.layers;

import java.util.Collection;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.params.ConvolutionParamInitializer;
import org.deeplearning4j.nn.params.EmptyParamInitializer;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A 2-D convolution (no activation) whose forward and backward passes are the libnd4j ops {@code conv2d} and
 * {@code conv2d_bp} called directly: oneDNN on CPU, cuDNN on nd4j-cuda, without DL4J's layer helpers (which
 * need deeplearning4j-cuda on GPU, unpublished for M2.x) and without DL4J's second forward pass in backprop.
 *
 * <p>Same parameters as DL4J's ConvolutionLayer ({@code W} [out, in, kh, kw], optional {@code b}), so weights,
 * freezing and serialisation are unchanged. Adds one setting, the output data format: the first convolution
 * of a network can read the caller's NCHW images and hand NHWC on, the layout oneDNN's convolutions run
 * fastest in (measured 2-2.5x over NCHW on AVX-512, no reorders between layers).
 *
 * <p>A ReLU activation is applied in place on the convolution's own output; it is for the inference-only
 * graphs of {@code BatchNormFolding} (conv + folded BN + ReLU as one vertex) and has no backprop.
 */
public class NativeConvolution extends ConvolutionLayer {

    /** Data format of this layer's output; its input format is {@link #getCnn2dDataFormat()}. */
    private CNN2DFormat outputFormat = CNN2DFormat.NCHW;

    /**
     * Whether backprop computes the gradient with respect to this layer's input. False for a network's first
     * convolution, whose input is the images: nothing reads that gradient, and at 112 px it was ~6% of a
     * ResNet-18 fine-tuning step. Backprop then hands DL4J no epsilon for the input (as for a frozen layer).
     */
    private boolean inputGradient = true;

    /**
     * Whether the layer holds its weights and bias itself instead of in the network's parameter vector. For a
     * frozen convolution only (inside a {@code FrozenLayer}): DL4J's optimizer passes over the whole parameter and
     * gradient vectors on every step (step, division by the batch size, regularisation), frozen parameters
     * included; with the frozen prefix's weights outside the vector it passes over the trainable ones only.
     * The network then neither updates, averages nor saves these weights, and its {@code clone()} or a saved copy
     * starts without them: whoever builds it writes them ({@code FrozenPrefixFolding.pull}); such a network is a
     * worker's private training copy, never a model to save.
     */
    private boolean constantWeights;

    /** For JSON deserialisation. */
    public NativeConvolution() {
    }

    /**
     * @param b a configured DL4J convolution builder (kernel, stride, padding, nIn/nOut, bias, mode...)
     */
    public NativeConvolution(ConvolutionLayer.Builder b, CNN2DFormat inputFormat, CNN2DFormat outputFormat) {
        super(b);
        b.build(); // DL4J's own validation of kernel/stride/padding
        if (!(getActivationFn() == null || getActivationFn() instanceof ActivationIdentity
                || getActivationFn() instanceof ActivationReLU)) {
            throw new IllegalArgumentException("NativeConvolution supports no activation or ReLU (inference only)");
        }
        if (getIDropout() != null || getWeightNoise() != null) {
            throw new IllegalArgumentException("NativeConvolution supports neither dropout nor weight noise");
        }
        if (inputFormat == CNN2DFormat.NHWC && outputFormat == CNN2DFormat.NCHW) {
            throw new IllegalArgumentException("NHWC in, NCHW out is not supported");
        }
        this.cnn2dDataFormat = inputFormat;
        this.outputFormat = outputFormat;
    }

    public CNN2DFormat getOutputFormat() {
        return outputFormat;
    }

    public void setOutputFormat(CNN2DFormat outputFormat) {
        this.outputFormat = outputFormat;
    }

    public boolean isInputGradient() {
        return inputGradient;
    }

    public void setInputGradient(boolean inputGradient) {
        this.inputGradient = inputGradient;
    }

    public boolean isConstantWeights() {
        return constantWeights;
    }

    public void setConstantWeights(boolean constantWeights) {
        this.constantWeights = constantWeights;
    }

    @Override
    public ParamInitializer initializer() {
        return constantWeights ? EmptyParamInitializer.getInstance() : super.initializer();
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners, int layerIndex,
                             INDArray layerParamsView, boolean initializeParams, DataType networkDataType) {
        NativeConvolutionImpl impl = new NativeConvolutionImpl(conf, networkDataType);
        Layer layer = LayerWiring.wire(impl, initializer(), conf, listeners, layerIndex, layerParamsView,
                initializeParams);
        if (constantWeights) {
            ConvolutionParamInitializer own = ConvolutionParamInitializer.getInstance();
            try (MemoryWorkspace outside = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                INDArray storage = Nd4j.create(networkDataType, 1, own.numParams(conf));
                impl.holdConstantWeights(own.init(conf, storage, initializeParams));
            }
        }
        return layer;
    }

    @Override
    public void setNIn(InputType inputType, boolean override) {
        CNN2DFormat in = cnn2dDataFormat;
        super.setNIn(inputType, override);
        if (in != null) {
            // DL4J copies the input type's format here; ours is fixed by the constructor (conv1 reads NCHW).
            cnn2dDataFormat = in;
        }
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType inputType) {
        InputType.InputTypeConvolutional in = (InputType.InputTypeConvolutional) inputType;
        // Shape arithmetic by DL4J in the input's format, then re-labelled with our output format.
        InputType.InputTypeConvolutional asIn = (InputType.InputTypeConvolutional) InputType.convolutional(
                in.getHeight(), in.getWidth(), in.getChannels(), cnn2dDataFormat);
        InputType.InputTypeConvolutional o = (InputType.InputTypeConvolutional) super.getOutputType(layerIndex, asIn);
        return InputType.convolutional(o.getHeight(), o.getWidth(), o.getChannels(), outputFormat);
    }

    @Override
    public NativeConvolution clone() {
        return (NativeConvolution) super.clone();
    }

    @Override
    public boolean equals(Object o) {
        return super.equals(o) && o instanceof NativeConvolution n && n.outputFormat == outputFormat
                && n.inputGradient == inputGradient && n.constantWeights == constantWeights;
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * super.hashCode() + outputFormat.hashCode()) + Boolean.hashCode(inputGradient))
                + Boolean.hashCode(constantWeights);
    }
}
