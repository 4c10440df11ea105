package org.sparktransfer.model.layers;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.FrozenLayer;
import org.deeplearning4j.nn.layers.convolution.ConvolutionLayer;
import org.deeplearning4j.nn.params.ConvolutionParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Runtime side of {@link NativeConvolution}: on ND4J's CPU backend the convolutions run through oneDNN 3.3
 * ({@link OneDnnConvolution}, see {@link OneDnn}); elsewhere, and for configurations it does not take (dilation,
 * Same mode, non-float), libnd4j's {@code conv2d} forward and {@code conv2d_bp} backward (cuDNN on nd4j-cuda).
 */
public class NativeConvolutionImpl extends ConvolutionLayer {

    private OneDnnConvolution oneDnn;
    private boolean oneDnnDecided;
    private boolean weightsFixed;
    /** {@code W} and {@code b} when {@link NativeConvolution#isConstantWeights()}; null when they are parameters. */
    private java.util.Map<String, INDArray> constantWeights;

    public NativeConvolutionImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
        // Never consult DL4J's helpers: the op itself dispatches to oneDNN/cuDNN.
        this.helper = null;
    }

    private NativeConvolution nconf() {
        return (NativeConvolution) conf.getLayer();
    }

    /** This layer's oneDNN 3.3 kernel, or null for libnd4j's ops. */
    private OneDnnConvolution oneDnn() {
        if (!oneDnnDecided) {
            oneDnnDecided = true;
            NativeConvolution c = nconf();
            int[] d = c.getDilation();
            if (OneDnn.usable(dataType) && c.getConvolutionMode() != ConvolutionMode.Same && d[0] == 1 && d[1] == 1
                    && c.getOutputFormat() == CNN2DFormat.NHWC) {
                oneDnn = new OneDnnConvolution(c.getKernelSize(), c.getStride(), c.getPadding(), hasBias(), fusedRelu());
                if (weightsFixed) {
                    oneDnn.cacheWeights();
                }
            }
        }
        return oneDnn;
    }

    /**
     * Declares this layer inference-only with weights that change only through calls followed by this method: the
     * folding code after writing folded weights (BatchNormFolding, FrozenPrefixFolding) and the model cache's
     * scoring copies. Its inference passes may then keep the weights they reordered for oneDNN until the next call.
     */
    public void fixWeights() {
        weightsFixed = true;
        if (oneDnn != null) {
            oneDnn.cacheWeights();
        }
    }

    /** {@link #fixWeights()} for every convolution of {@code g}, an inference-only copy. */
    public static void fixWeightsOf(ComputationGraph g) {
        for (org.deeplearning4j.nn.api.Layer l : g.getLayers()) {
            org.deeplearning4j.nn.api.Layer inner = l instanceof FrozenLayer f ? f.getInsideLayer() : l;
            if (inner instanceof NativeConvolutionImpl c) {
                c.fixWeights();
            }
        }
    }

    /** The layer's own weights and bias, outside the network's parameter vector (see {@link NativeConvolution}). */
    void holdConstantWeights(java.util.Map<String, INDArray> weights) {
        constantWeights = java.util.Map.copyOf(weights);
    }

    /**
     * The parameter, or with constant weights the layer's own {@code W} / {@code b}: what the passes read, and what
     * the folding code writes into (followed by {@link #fixWeights()}).
     */
    @Override
    public INDArray getParam(String key) {
        return constantWeights != null ? constantWeights.get(key) : super.getParam(key);
    }

    @Override
    public void setParams(INDArray params) {
        super.setParams(params);
        weightsRewritten();
    }

    @Override
    public void setParam(String key, INDArray val) {
        super.setParam(key, val);
        weightsRewritten();
    }

    @Override
    public void setParamTable(java.util.Map<String, INDArray> paramTable) {
        super.setParamTable(paramTable);
        weightsRewritten();
    }

    private void weightsRewritten() {
        if (oneDnn != null) {
            oneDnn.weightsChanged();
        }
    }

    /** conv2d integer arguments: kernel, stride, padding, dilation, same-mode, data format, weight format. */
    private int[] iArgs() {
        NativeConvolution c = nconf();
        int[] k = c.getKernelSize(), s = c.getStride(), p = c.getPadding(), d = c.getDilation();
        boolean same = c.getConvolutionMode() == ConvolutionMode.Same;
        int nhwc = c.getOutputFormat() == CNN2DFormat.NHWC ? 1 : 0;
        // Weight format 1 = [out, in, kh, kw]: DL4J's (and PyTorch's) own layout, no permuted view.
        return new int[]{k[0], k[1], s[0], s[1], same ? 0 : p[0], same ? 0 : p[1], d[0], d[1], same ? 1 : 0, nhwc, 1};
    }

    /** The layer input in the layout the op computes in (a copy only for NCHW in, NHWC out). */
    private INDArray opInput(LayerWorkspaceMgr mgr, ArrayType type) {
        INDArray in = input.dataType() == dataType ? input : input.castTo(dataType);
        NativeConvolution c = nconf();
        if (c.getCnn2dDataFormat() != c.getOutputFormat()) {
            INDArray nhwc = mgr.createUninitialized(type, dataType, in.size(0), in.size(2), in.size(3), in.size(1));
            return nhwc.assign(in.permute(0, 2, 3, 1));
        }
        return contiguous(in, mgr, type);
    }

    static INDArray contiguous(INDArray a, LayerWorkspaceMgr mgr, ArrayType type) {
        return dense(a) ? a : mgr.dup(type, a, 'c');
    }

    /** Whether {@code a}'s elements lie in row-major order without gaps (strides of size-1 dimensions do not matter). */
    static boolean dense(INDArray a) {
        long[] shape = a.shape();
        long[] stride = a.stride();
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && stride[i] != expected) {
                return false;
            }
            expected *= shape[i];
        }
        return true;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        if (input.rank() != 4) {
            throw new IllegalStateException("Expected rank 4 input for " + layerId() + ", got " + input.rank());
        }
        INDArray x = opInput(mgr, ArrayType.FF_WORKING_MEM);
        INDArray w = getParamWithNoise(ConvolutionParamInitializer.WEIGHT_KEY, training, mgr);
        boolean nhwc = nconf().getOutputFormat() == CNN2DFormat.NHWC;
        int[] ia = iArgs();
        long n = x.size(0), h = nhwc ? x.size(1) : x.size(2), wd = nhwc ? x.size(2) : x.size(3);
        long oh = outSize(h, (int) ia[0], (int) ia[2], (int) ia[4], (int) ia[6], ia[8] == 1);
        long ow = outSize(wd, (int) ia[1], (int) ia[3], (int) ia[5], (int) ia[7], ia[8] == 1);
        long oc = w.size(0);
        INDArray out = nhwc ? mgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, n, oh, ow, oc)
                : mgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, n, oc, oh, ow);
        OneDnnConvolution k = oneDnn();
        if (k != null) {
            k.forward(x, contiguous(w, mgr, ArrayType.FF_WORKING_MEM),
                    hasBias() ? getParamWithNoise(ConvolutionParamInitializer.BIAS_KEY, training, mgr) : null, out, training);
            return out;
        }
        DynamicCustomOp.DynamicCustomOpsBuilder op = DynamicCustomOp.builder("conv2d");
        if (hasBias()) {
            op.addInputs(x, w, getParamWithNoise(ConvolutionParamInitializer.BIAS_KEY, training, mgr).reshape(oc));
        } else {
            op.addInputs(x, w);
        }
        Nd4j.exec(op.addOutputs(out).addIntegerArguments(ia).build());
        if (fusedRelu()) {
            Nd4j.exec(new RectifiedLinear(out, out, 0.0));
        }
        return out;
    }

    static long outSize(long in, int k, int s, int p, int d, boolean same) {
        if (same) {
            return (in + s - 1) / s;
        }
        long ek = (long) (k - 1) * d + 1;
        return (in + 2L * p - ek) / s + 1;
    }

    private boolean fusedRelu() {
        return nconf().getActivationFn() instanceof ActivationReLU;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        if (fusedRelu()) {
            throw new UnsupportedOperationException(layerId() + ": a convolution with fused ReLU is inference-only");
        }
        if (constantWeights != null) {
            throw new UnsupportedOperationException(layerId() + ": constant weights are for frozen layers (no backprop)");
        }
        assertInputSet(true);
        INDArray x = opInput(mgr, ArrayType.BP_WORKING_MEM);
        INDArray w = getParamWithNoise(ConvolutionParamInitializer.WEIGHT_KEY, true, mgr);
        INDArray dy = contiguous(epsilon.dataType() == dataType ? epsilon : epsilon.castTo(dataType), mgr,
                ArrayType.BP_WORKING_MEM);
        INDArray dW = gradientViews.get(ConvolutionParamInitializer.WEIGHT_KEY);
        NativeConvolution c = nconf();
        boolean permuted = c.getCnn2dDataFormat() != c.getOutputFormat();
        boolean wantDx = c.isInputGradient();
        INDArray dB = hasBias() ? gradientViews.get(ConvolutionParamInitializer.BIAS_KEY) : null;
        OneDnnConvolution k = oneDnn();
        INDArray dx = k != null && !wantDx ? null : mgr.createUninitialized(
                permuted ? ArrayType.BP_WORKING_MEM : ArrayType.ACTIVATION_GRAD, dataType, x.shape());
        if (k != null) {
            k.backward(x, contiguous(w, mgr, ArrayType.BP_WORKING_MEM), dy, dx, dW, dB);
        } else {
            DynamicCustomOp.DynamicCustomOpsBuilder op = DynamicCustomOp.builder("conv2d_bp");
            if (dB != null) {
                op.addInputs(x, w, getParamWithNoise(ConvolutionParamInitializer.BIAS_KEY, true, mgr).reshape(w.size(0)), dy)
                        .addOutputs(dx, dW, dB.reshape(w.size(0)));
            } else {
                op.addInputs(x, w, dy).addOutputs(dx, dW);
            }
            Nd4j.exec(op.addIntegerArguments(iArgs()).build());
        }

        Gradient g = new DefaultGradient();
        if (dB != null) {
            g.gradientForVariable().put(ConvolutionParamInitializer.BIAS_KEY, dB);
        }
        g.gradientForVariable().put(ConvolutionParamInitializer.WEIGHT_KEY, dW);
        weightNoiseParams.clear();
        INDArray epsOut = wantDx ? dx : null;
        if (permuted && wantDx) {
            // Back to the caller's NCHW layout.
            epsOut = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, input.shape());
            epsOut.assign(dx.permute(0, 3, 1, 2));
        }
        return new Pair<>(g, epsOut);
    }
}
