package org.sparktransfer.model.layers;

import java.util.Collection;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.node.ObjectNode;

/**
 * Batch normalisation over the channels of NCHW or NHWC activations that calls the libnd4j {@code batchnorm}
 * op (oneDNN / cuDNN) directly and computes its training statistics and gradients with a few fused passes
 * (see {@link NativeBatchNormImpl}). Same parameters as DL4J's BatchNormalization ({@code gamma}, {@code beta},
 * {@code mean}, {@code var}; useLogStd must be false), so weights, freezing and serialisation are unchanged.
 */
public class NativeBatchNorm extends BatchNormalization {

    /** For JSON deserialisation. */
    public NativeBatchNorm() {
    }

    /** A NativeBatchNorm with every setting of {@code stock} (a built DL4J BatchNormalization). */
    public static NativeBatchNorm of(BatchNormalization stock, CNN2DFormat format) {
        if (stock.isUseLogStd() || stock.isLockGammaBeta()) {
            throw new IllegalArgumentException("NativeBatchNorm needs useLogStd(false) and lockGammaBeta(false)");
        }
        // DL4J's builder constructor is private: copy every configured field through DL4J's own JSON mapping.
        ObjectMapper m = NeuralNetConfiguration.mapper();
        ObjectNode n = m.valueToTree(stock);
        n.put("@class", NativeBatchNorm.class.getName());
        try {
            NativeBatchNorm b = (NativeBatchNorm) m.treeToValue(n, org.deeplearning4j.nn.conf.layers.Layer.class);
            b.setCnn2DFormat(format);
            return b;
        } catch (Exception e) {
            throw new IllegalStateException("cannot copy " + stock, e);
        }
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners, int layerIndex,
                             INDArray layerParamsView, boolean initializeParams, DataType networkDataType) {
        return LayerWiring.wire(new NativeBatchNormImpl(conf, networkDataType), initializer(), conf, listeners, layerIndex,
                layerParamsView, initializeParams);
    }

    @Override
    public NativeBatchNorm clone() {
        return (NativeBatchNorm) super.clone();
    }
}
