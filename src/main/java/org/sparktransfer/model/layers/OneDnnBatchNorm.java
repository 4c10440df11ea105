package org.sparktransfer.model.layers;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SCALE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SHIFT;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_MEAN;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SCALE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SHIFT;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_VARIANCE;
import static org.bytedeco.dnnl.global.dnnl.dnnl_use_global_stats;
import static org.bytedeco.dnnl.global.dnnl.dnnl_use_scale;
import static org.bytedeco.dnnl.global.dnnl.dnnl_use_shift;
import static org.sparktransfer.model.layers.OneDnnRuntime.desc;
import static org.sparktransfer.model.layers.OneDnnRuntime.ptr;

import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.batch_normalization_backward;
import org.bytedeco.dnnl.batch_normalization_forward;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.stream;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One batch-norm layer's oneDNN 3.3 primitives on float32 NHWC activations: the training forward pass (batch
 * statistics, which it hands back for the backward pass and the running averages), its backward pass (input,
 * scale and shift gradients in one primitive), and the inference pass with the running statistics.
 *
 * <p>Why not libnd4j's ops: its {@code batchnorm} op has no training mode and {@code batchnorm_bp} makes ~15 passes
 * over the activations; composing the statistics from ND4J ops (what {@link NativeBatchNormImpl} does without
 * oneDNN) still makes ~7 in the forward and ~10 in the backward pass. oneDNN's channels-last kernels make 2-3 each:
 * on ResNet-18 fine-tuning at 112 px the batch norms were ~20% of a step on the ND4J-op path.
 *
 * <p>Variance: oneDNN's is the biased one (divided by N*H*W), as the ND4J-op path and PyTorch normalise with; the
 * caller turns it into the unbiased estimate for the running average. A layer instance is used by one thread at a
 * time (as DL4J's layers are).
 */
final class OneDnnBatchNorm {
    private final float eps;
    /** Plans by input shape; a few shapes at most (the last batch of an epoch). */
    private final Map<String, Plan> plans = new LinkedHashMap<>(4, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Plan> e) {
            return size() > 8;
        }
    };

    OneDnnBatchNorm(double eps) {
        this.eps = (float) eps;
    }

    /**
     * y = gamma * (x - mean) / sqrt(var + eps) + beta over the batch's own statistics, which it writes into
     * {@code mean} and {@code var} (biased). x and y [n, h, w, c] c-ordered; gamma, beta, mean, var [c] dense.
     */
    void forwardTraining(INDArray x, INDArray gamma, INDArray beta, INDArray mean, INDArray var, INDArray y) {
        run(plan(x, true).fwd, x, gamma, beta, mean, var, y);
    }

    /** The same map with given statistics (the running averages): inference and frozen layers. */
    void forwardInference(INDArray x, INDArray gamma, INDArray beta, INDArray mean, INDArray var, INDArray y) {
        run(plan(x, false).fwd, x, gamma, beta, mean, var, y);
    }

    /**
     * Gradients of {@link #forwardTraining} given its statistics: dx [n, h, w, c], and dGamma, dBeta ([c] dense,
     * typically views of the layer's gradient array).
     */
    void backward(INDArray x, INDArray dy, INDArray gamma, INDArray mean, INDArray var,
                  INDArray dx, INDArray dGamma, INDArray dBeta) {
        Plan p = plan(x, true);
        Backward b = p.backward();
        b.src.set_data_handle(ptr(x));
        b.diffDst.set_data_handle(ptr(dy));
        b.scale.set_data_handle(ptr(gamma));
        b.mean.set_data_handle(ptr(mean));
        b.var.set_data_handle(ptr(var));
        b.diffSrc.set_data_handle(ptr(dx));
        b.diffScale.set_data_handle(ptr(dGamma));
        b.diffShift.set_data_handle(ptr(dBeta));
        stream s = OneDnnRuntime.stream();
        b.primitive.execute(s, b.args);
        s._wait();
    }

    private static void run(Forward f, INDArray x, INDArray gamma, INDArray beta, INDArray mean, INDArray var,
                            INDArray y) {
        f.src.set_data_handle(ptr(x));
        f.dst.set_data_handle(ptr(y));
        f.scale.set_data_handle(ptr(gamma));
        f.shift.set_data_handle(ptr(beta));
        f.mean.set_data_handle(ptr(mean));
        f.var.set_data_handle(ptr(var));
        stream s = OneDnnRuntime.stream();
        f.primitive.execute(s, f.args);
        s._wait();
    }

    private Plan plan(INDArray x, boolean training) {
        if (x.rank() != 4) {
            throw new IllegalArgumentException("oneDNN batch norm takes [n, h, w, c] activations, got " + x.shapeInfoToString());
        }
        String key = (training ? "T " : "I ") + x.size(0) + "x" + x.size(1) + "x" + x.size(2) + "x" + x.size(3);
        return plans.computeIfAbsent(key, k -> new Plan(x.size(0), x.size(3), x.size(1), x.size(2), training));
    }

    /** The forward primitive and its memory objects; they get their buffers per call. */
    private static final class Forward {
        final batch_normalization_forward.primitive_desc pd;
        final primitive primitive;
        final memory src, dst, scale, shift, mean, var;
        final IntMemoryMap args = new IntMemoryMap();

        Forward(memory.desc data, memory.desc channels, float eps, boolean training) {
            int flags = dnnl_use_scale | dnnl_use_shift | (training ? 0 : dnnl_use_global_stats);
            pd = new batch_normalization_forward.primitive_desc(OneDnnRuntime.ENGINE,
                    (training ? dnnl.prop_kind.forward_training : dnnl.prop_kind.forward_inference).value,
                    data, data, eps, flags);
            primitive = new batch_normalization_forward(pd);
            src = bind(args, DNNL_ARG_SRC, data);
            dst = bind(args, DNNL_ARG_DST, data);
            scale = bind(args, DNNL_ARG_SCALE, channels);
            shift = bind(args, DNNL_ARG_SHIFT, channels);
            // Outputs in training, inputs with the running statistics.
            mean = bind(args, DNNL_ARG_MEAN, channels);
            var = bind(args, DNNL_ARG_VARIANCE, channels);
        }
    }

    /** The backward primitive (data, scale and shift gradients) and its memory objects. */
    private static final class Backward {
        final primitive primitive;
        final memory src, diffDst, scale, mean, var, diffSrc, diffScale, diffShift;
        final IntMemoryMap args = new IntMemoryMap();

        Backward(memory.desc data, memory.desc channels, float eps, batch_normalization_forward.primitive_desc hint) {
            batch_normalization_backward.primitive_desc pd = new batch_normalization_backward.primitive_desc(
                    OneDnnRuntime.ENGINE, dnnl.prop_kind.backward.value, data, data, data, eps,
                    dnnl_use_scale | dnnl_use_shift, hint);
            primitive = new batch_normalization_backward(pd);
            src = bind(args, DNNL_ARG_SRC, data);
            diffDst = bind(args, DNNL_ARG_DIFF_DST, data);
            scale = bind(args, DNNL_ARG_SCALE, channels);
            mean = bind(args, DNNL_ARG_MEAN, channels);
            var = bind(args, DNNL_ARG_VARIANCE, channels);
            diffSrc = bind(args, DNNL_ARG_DIFF_SRC, data);
            diffScale = bind(args, DNNL_ARG_DIFF_SCALE, channels);
            diffShift = bind(args, DNNL_ARG_DIFF_SHIFT, channels);
        }
    }

    /** A memory object without a buffer (set per call), registered in {@code args} as {@code arg}. */
    private static memory bind(IntMemoryMap args, int arg, memory.desc d) {
        memory m = new memory(d, OneDnnRuntime.ENGINE, (Pointer) null);
        args.put(arg, m);
        return m;
    }

    private final class Plan {
        final memory.desc data, channels;
        final Forward fwd;
        private Backward bwd;

        Plan(long n, long c, long h, long w, boolean training) {
            data = desc(memory.format_tag.nhwc, n, c, h, w);
            channels = desc(memory.format_tag.a, c);
            fwd = new Forward(data, channels, eps, training);
        }

        Backward backward() {
            if (bwd == null) {
                bwd = new Backward(data, channels, eps, fwd.pd);
            }
            return bwd;
        }
    }
}
