package org.sparktransfer.model.layers;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Runtime side of {@link NativeBatchNorm}.
 *
 * <p>On CPU with oneDNN 3.3 ({@link OneDnn}) channels-last layers run {@link OneDnnBatchNorm}'s primitives: training
 * forward with batch statistics, its backward pass, and inference with the running statistics. Otherwise (GPU,
 * {@code -Dsparktransfer.onednn=false}):
 *
 * <p>Inference (and frozen layers): one {@code batchnorm} op with the running statistics. Training (NHWC):
 * with the activations viewed as an [M, C] matrix (M = N*H*W), per-channel sums are a GEMM with a ones vector
 * (mean, then the variance from (x - mean)^2, one squaredsubtract pass)
 * (libnd4j's strided reductions over channels-last data are 5-10x slower), normalisation is the
 * {@code batchnorm} op with the batch statistics, and the input gradient dx = a*dy + b*x + c (per-channel
 * a, b, c) is two {@code batchnorm} ops used as affine maps plus one add: about 7 passes over the data
 * instead of the ~15 that {@code batchnorm_bp} makes. The running statistics are updated in backprop (as
 * DL4J's layer does, so frozen layers, which skip backprop, never move them) with torchvision's rule:
 * new = decay*old + (1-decay)*batch, using the unbiased batch variance (on both paths). Other configurations (rank 2,
 * non-float, NCHW training) use DL4J's implementation.
 */
public class NativeBatchNormImpl extends BatchNormalization {

    private INDArray ones;          // [1, M], outside workspaces, re-made when M changes
    private INDArray batchMean;     // [C] of the last training forward pass
    private INDArray batchVar;      // [C], biased
    private INDArray unitVar;       // [C] of ones: the "variance" that turns the batchnorm op into an affine map
    private INDArray zeros;         // [C]
    private OneDnnBatchNorm oneDnn;
    private boolean oneDnnDecided;

    public NativeBatchNormImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    private org.deeplearning4j.nn.conf.layers.BatchNormalization bconf() {
        return layerConf();
    }

    private boolean nhwc() {
        return bconf().getCnn2DFormat() == CNN2DFormat.NHWC;
    }

    private boolean fast(INDArray x, boolean training) {
        return x.rank() == 4 && x.dataType() == DataType.FLOAT && !bconf().isUseLogStd()
                && !bconf().isLockGammaBeta() && (!training || nhwc());
    }

    private INDArray vec(String param) {
        INDArray p = getParam(param);
        return p.reshape(p.length());
    }

    private static void batchnorm(INDArray x, INDArray mean, INDArray var, INDArray gamma, INDArray beta,
                                  double eps, int axis, INDArray out) {
        Nd4j.exec(DynamicCustomOp.builder("batchnorm").addInputs(x, mean, var, gamma, beta).addOutputs(out)
                .addIntegerArguments(1, 1, axis).addFloatingPointArguments(eps).build());
    }

    /** This layer's oneDNN 3.3 kernel (channels-last float layers on CPU), or null for the ND4J-op path. */
    private OneDnnBatchNorm oneDnn() {
        if (!oneDnnDecided) {
            oneDnnDecided = true;
            if (OneDnn.usable(dataType) && nhwc()) {
                oneDnn = new OneDnnBatchNorm(bconf().getEps());
            }
        }
        return oneDnn;
    }

    /** Whether this layer runs on oneDNN 3.3 (decided on its first pass). */
    boolean onOneDnn() {
        return oneDnn() != null;
    }

    private void ensureBuffers(long m, long c) {
        try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            if (m > 0 && (ones == null || ones.length() != m)) {
                ones = Nd4j.ones(dataType, 1, m);
            }
            if (batchMean == null || batchMean.length() != c) {
                batchMean = Nd4j.create(dataType, c);
                batchVar = Nd4j.create(dataType, c);
                unitVar = Nd4j.ones(dataType, c);
                zeros = Nd4j.zeros(dataType, c);
            }
        }
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        INDArray x = NativeConvolutionImpl.contiguous(input, mgr, ArrayType.FF_WORKING_MEM);
        if (!fast(x, training)) {
            return super.activate(training, mgr);
        }
        int axis = nhwc() ? 3 : 1;
        double eps = bconf().getEps();
        INDArray out = mgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, x.shape());
        OneDnnBatchNorm k = oneDnn();
        if (!training && k != null) {
            k.forwardInference(x, vec(BatchNormalizationParamInitializer.GAMMA),
                    vec(BatchNormalizationParamInitializer.BETA), vec(BatchNormalizationParamInitializer.GLOBAL_MEAN),
                    vec(BatchNormalizationParamInitializer.GLOBAL_VAR), out);
            return out;
        }
        if (!training) {
            batchnorm(x, vec(BatchNormalizationParamInitializer.GLOBAL_MEAN),
                    vec(BatchNormalizationParamInitializer.GLOBAL_VAR), vec(BatchNormalizationParamInitializer.GAMMA),
                    vec(BatchNormalizationParamInitializer.BETA), eps, axis, out);
            return out;
        }
        long c = x.size(3);
        long m = x.length() / c;
        if (k != null) {
            ensureBuffers(0, c);
            k.forwardTraining(x, vec(BatchNormalizationParamInitializer.GAMMA),
                    vec(BatchNormalizationParamInitializer.BETA), batchMean, batchVar, out);
            return out;
        }
        ensureBuffers(m, c);
        INDArray x2 = x.reshape(m, c);
        batchMean.assign(ones.mmul(x2).divi(m).reshape(c));
        // Two-pass variance (no E[x^2] - E[x]^2 cancellation): (x - mean)^2 in one broadcast pass over the
        // channels-last array (libnd4j's squaredsubtract; half the time of centring then squaring), sum by GEMM.
        INDArray sq = mgr.createUninitialized(ArrayType.FF_WORKING_MEM, dataType, x.shape());
        Nd4j.exec(DynamicCustomOp.builder("squaredsubtract").addInputs(x, batchMean).addOutputs(sq).build());
        batchVar.assign(ones.mmul(sq.reshape(m, c)).divi(m).reshape(c));
        batchnorm(x, batchMean, batchVar, vec(BatchNormalizationParamInitializer.GAMMA),
                vec(BatchNormalizationParamInitializer.BETA), eps, axis, out);
        return out;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        INDArray x = NativeConvolutionImpl.contiguous(input, mgr, ArrayType.BP_WORKING_MEM);
        if (!fast(x, true) || batchMean == null) {
            return super.backpropGradient(epsilon, mgr);
        }
        INDArray dy = NativeConvolutionImpl.contiguous(epsilon, mgr, ArrayType.BP_WORKING_MEM);
        double eps = bconf().getEps();
        long c = x.size(3);
        long m = x.length() / c;
        INDArray gamma = vec(BatchNormalizationParamInitializer.GAMMA);
        INDArray dGammaView = gradientViews.get(BatchNormalizationParamInitializer.GAMMA);
        INDArray dBetaView = gradientViews.get(BatchNormalizationParamInitializer.BETA);
        INDArray dx = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, x.shape());
        OneDnnBatchNorm k = oneDnn();
        if (k != null) {
            k.backward(x, dy, gamma, batchMean, batchVar, dx, dGammaView.reshape(c), dBetaView.reshape(c));
        } else {
            ensureBuffers(m, c);
            INDArray x2 = x.reshape(m, c);
            INDArray dy2 = dy.reshape(m, c);
            INDArray tmp = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dataType, m, c);
            Nd4j.exec(DynamicCustomOp.builder("multiply").addInputs(dy2, x2).addOutputs(tmp).build());
            INDArray dBeta = ones.mmul(dy2).reshape(c);          // sum dy
            INDArray sDyX = ones.mmul(tmp).reshape(c);           // sum dy*x
            INDArray invStd = Transforms.pow(batchVar.add(eps), -0.5, false);
            INDArray dGamma = sDyX.subi(batchMean.mul(dBeta)).muli(invStd);   // sum dy*xhat
            INDArray a = gamma.mul(invStd);
            INDArray b = a.div(m).muli(dGamma).muli(invStd).negi();
            INDArray cc = a.div(m).muli(dBeta).negi().subi(b.mul(batchMean));
            // dx = a*dy + cc, then += b*x; the batchnorm op with mean 0, variance 1, eps 0 is the affine map.
            batchnorm(dy, zeros, unitVar, a, cc, 0.0, 3, dx);
            INDArray bx = tmp.reshape(x.shape());
            batchnorm(x, zeros, unitVar, b, zeros, 0.0, 3, bx);
            dx.addi(bx);
            dGammaView.assign(dGamma.reshape(dGammaView.shape()));
            dBetaView.assign(dBeta.reshape(dBetaView.shape()));
        }

        Gradient g = new DefaultGradient();
        INDArray dMean = gradientViews.get(BatchNormalizationParamInitializer.GLOBAL_MEAN).assign(0);
        INDArray dVar = gradientViews.get(BatchNormalizationParamInitializer.GLOBAL_VAR).assign(0);
        g.setGradientFor(BatchNormalizationParamInitializer.GAMMA, dGammaView);
        g.setGradientFor(BatchNormalizationParamInitializer.BETA, dBetaView);
        g.setGradientFor(BatchNormalizationParamInitializer.GLOBAL_MEAN, dMean);
        g.setGradientFor(BatchNormalizationParamInitializer.GLOBAL_VAR, dVar);

        double decay = bconf().getDecay();
        INDArray runMean = getParam(BatchNormalizationParamInitializer.GLOBAL_MEAN);
        INDArray runVar = getParam(BatchNormalizationParamInitializer.GLOBAL_VAR);
        runMean.muli(decay).addi(batchMean.mul(1 - decay).reshape(runMean.shape()));
        runVar.muli(decay).addi(batchVar.mul((1 - decay) * m / Math.max(1.0, m - 1.0)).reshape(runVar.shape()));
        return new Pair<>(g, dx);
    }
}
