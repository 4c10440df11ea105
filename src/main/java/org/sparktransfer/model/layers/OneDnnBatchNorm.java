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

import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.dnnl.batch_normalization_backward;
import org.bytedeco.dnnl.batch_normalization_forward;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.primitive_desc_base;
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
 * time (as DL4J's layers are); the scratchpad is the executing thread's ({@link OneDnnPrimitive}).
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
        plan(x, true).fwd.run(x, gamma, beta, mean, var, y);
    }

    /** The same map with given statistics (the running averages): inference and frozen layers. */
    void forwardInference(INDArray x, INDArray gamma, INDArray beta, INDArray mean, INDArray var, INDArray y) {
        plan(x, false).fwd.run(x, gamma, beta, mean, var, y);
    }

    /**
     * Gradients of {@link #forwardTraining} given its statistics: dx [n, h, w, c], and dGamma, dBeta ([c] dense,
     * typically views of the layer's gradient array).
     */
    void backward(INDArray x, INDArray dy, INDArray gamma, INDArray mean, INDArray var,
                  INDArray dx, INDArray dGamma, INDArray dBeta) {
        plan(x, true).backward().run(x, dy, gamma, mean, var, dx, dGamma, dBeta);
    }

    private Plan plan(INDArray x, boolean training) {
        if (x.rank() != 4) {
            throw new IllegalArgumentException("oneDNN batch norm takes [n, h, w, c] activations, got " + x.shapeInfoToString());
        }
        String key = (training ? "T " : "I ") + x.size(0) + "x" + x.size(1) + "x" + x.size(2) + "x" + x.size(3);
        return plans.computeIfAbsent(key, k -> new Plan(x.size(0), x.size(3), x.size(1), x.size(2), training));
    }

    /**
     * A primitive with one memory object per argument, declared in the order {@link #run} takes its arrays; the
     * memory objects get the arrays' buffers per call.
     */
    private static final class Call {
        private final OneDnnPrimitive primitive;
        private final List<memory> order = new ArrayList<>();

        Call(primitive_desc_base pd, primitive primitive) {
            this.primitive = new OneDnnPrimitive(pd, primitive);
        }

        Call arg(int arg, memory.desc d) {
            memory m = new memory(d, OneDnnRuntime.ENGINE, (Pointer) null);
            primitive.arg(arg, m);
            order.add(m);
            return this;
        }

        void run(INDArray... arrays) {
            if (arrays.length != order.size()) {
                throw new IllegalArgumentException(order.size() + " arrays expected, got " + arrays.length);
            }
            for (int i = 0; i < arrays.length; i++) {
                order.get(i).set_data_handle(ptr(arrays[i]));
            }
            primitive.run();
            Reference.reachabilityFence(arrays); // and through it every array: raw addresses do not keep them alive
        }
    }

    private final class Plan {
        final memory.desc data, channels;
        final batch_normalization_forward.primitive_desc fwdPd;
        /** (x, gamma, beta, mean, var, y); mean and var are outputs in training, inputs otherwise. */
        final Call fwd;
        /** (x, dy, gamma, mean, var, dx, dGamma, dBeta), built on first use. */
        private Call bwd;

        Plan(long n, long c, long h, long w, boolean training) {
            data = desc(memory.format_tag.nhwc, n, c, h, w);
            channels = desc(memory.format_tag.a, c);
            int flags = dnnl_use_scale | dnnl_use_shift | (training ? 0 : dnnl_use_global_stats);
            fwdPd = new batch_normalization_forward.primitive_desc(OneDnnRuntime.ENGINE,
                    (training ? dnnl.prop_kind.forward_training : dnnl.prop_kind.forward_inference).value,
                    data, data, eps, flags, OneDnnPrimitive.attr(), false);
            fwd = new Call(fwdPd, new batch_normalization_forward(fwdPd))
                    .arg(DNNL_ARG_SRC, data).arg(DNNL_ARG_SCALE, channels).arg(DNNL_ARG_SHIFT, channels)
                    .arg(DNNL_ARG_MEAN, channels).arg(DNNL_ARG_VARIANCE, channels).arg(DNNL_ARG_DST, data);
        }

        Call backward() {
            if (bwd == null) {
                batch_normalization_backward.primitive_desc pd = new batch_normalization_backward.primitive_desc(
                        OneDnnRuntime.ENGINE, dnnl.prop_kind.backward.value, data, data, data, eps,
                        dnnl_use_scale | dnnl_use_shift, fwdPd, OneDnnPrimitive.attr(), false);
                bwd = new Call(pd, new batch_normalization_backward(pd))
                        .arg(DNNL_ARG_SRC, data).arg(DNNL_ARG_DIFF_DST, data).arg(DNNL_ARG_SCALE, channels)
                        .arg(DNNL_ARG_MEAN, channels).arg(DNNL_ARG_VARIANCE, channels).arg(DNNL_ARG_DIFF_SRC, data)
                        .arg(DNNL_ARG_DIFF_SCALE, channels).arg(DNNL_ARG_DIFF_SHIFT, channels);
            }
            return bwd;
        }
    }
}
