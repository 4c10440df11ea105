package org.sparktransfer.model.layers;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
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

/** Runtime side of {@link NativeConvolution}: libnd4j {@code conv2d} forward, {@code conv2d_bp} backward. */
public class NativeConvolutionImpl extends ConvolutionLayer {

    public NativeConvolutionImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
        // Never consult DL4J's helpers: the op itself dispatches to oneDNN/cuDNN.
        this.helper = null;
    }

    private NativeConvolution nconf() {
        return (NativeConvolution) conf.getLayer();
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
        if (a.ordering() != 'c' || !org.nd4j.linalg.api.shape.Shape.hasDefaultStridesForShape(a)) {
            return mgr.dup(type, a, 'c');
        }
        return a;
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
        assertInputSet(true);
        INDArray x = opInput(mgr, ArrayType.BP_WORKING_MEM);
        INDArray w = getParamWithNoise(ConvolutionParamInitializer.WEIGHT_KEY, true, mgr);
        INDArray dy = contiguous(epsilon.dataType() == dataType ? epsilon : epsilon.castTo(dataType), mgr,
                ArrayType.BP_WORKING_MEM);
        INDArray dW = gradientViews.get(ConvolutionParamInitializer.WEIGHT_KEY);
        NativeConvolution c = nconf();
        boolean permuted = c.getCnn2dDataFormat() != c.getOutputFormat();
        INDArray dx = mgr.createUninitialized(permuted ? ArrayType.BP_WORKING_MEM : ArrayType.ACTIVATION_GRAD,
                dataType, x.shape());
        INDArray dB = null;
        DynamicCustomOp.DynamicCustomOpsBuilder op = DynamicCustomOp.builder("conv2d_bp");
        if (hasBias()) {
            dB = gradientViews.get(ConvolutionParamInitializer.BIAS_KEY);
            op.addInputs(x, w, getParamWithNoise(ConvolutionParamInitializer.BIAS_KEY, true, mgr).reshape(w.size(0)), dy)
                    .addOutputs(dx, dW, dB.reshape(w.size(0)));
        } else {
            op.addInputs(x, w, dy).addOutputs(dx, dW);
        }
        Nd4j.exec(op.addIntegerArguments(iArgs()).build());

        Gradient g = new DefaultGradient();
        if (dB != null) {
            g.gradientForVariable().put(ConvolutionParamInitializer.BIAS_KEY, dB);
        }
        g.gradientForVariable().put(ConvolutionParamInitializer.WEIGHT_KEY, dW);
        weightNoiseParams.clear();
        INDArray epsOut = dx;
        if (permuted) {
            // Back to the caller's NCHW layout.
            epsOut = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, input.shape());
            epsOut.assign(dx.permute(0, 3, 1, 2));
        }
        return new Pair<>(g, epsOut);
    }
}
