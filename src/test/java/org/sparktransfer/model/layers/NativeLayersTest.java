package org.sparktransfer.model.layers;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.sparktransfer.model.FreezePolicy;
import org.sparktransfer.model.LayerImpl;
import org.sparktransfer.model.ResNetArch;
import org.sparktransfer.model.ResNetFactory;

import java.io.File;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The native layers against DL4J's stock layers (same seed, same parameters): outputs, training-mode outputs
 * and gradients agree; configurations survive JSON (what dl4j-spark ships to executors) and ModelSerializer.
 */
class NativeLayersTest {

    @TempDir
    Path dir;

    @AfterEach
    void reset() {
        System.clearProperty(LayerImpl.PROPERTY);
    }

    static ComputationGraph build(LayerImpl impl, long seed) {
        System.setProperty(LayerImpl.PROPERTY, impl.cliName());
        try {
            return ResNetFactory.build(ResNetArch.RESNET18, 4, 64, seed, new Nesterovs(0.01, 0.9));
        } finally {
            System.clearProperty(LayerImpl.PROPERTY);
        }
    }

    static double rel(INDArray expected, INDArray actual) {
        return expected.sub(actual).amaxNumber().doubleValue() / expected.amaxNumber().doubleValue();
    }

    /** Non-trivial BN statistics and scales, copied into both graphs. */
    static void randomiseBn(ComputationGraph a, ComputationGraph b) {
        Nd4j.getRandom().setSeed(7);
        for (Layer l : a.getLayers()) {
            if (l.paramTable().containsKey("mean")) {
                Layer o = b.getLayer(l.conf().getLayer().getLayerName());
                for (String p : new String[]{"mean", "var", "gamma", "beta"}) {
                    INDArray v = Nd4j.rand(DataType.FLOAT, l.getParam(p).shape());
                    v = p.equals("var") ? v.addi(0.5) : p.equals("gamma") ? v.addi(0.5) : v.subi(0.5);
                    l.getParam(p).assign(v);
                    o.getParam(p).assign(v);
                }
            }
        }
    }

    @Test
    void defaultIsNativeAndMatchesStockLayers() {
        ComputationGraph stock = build(LayerImpl.DL4J, 1);
        ComputationGraph nat = build(LayerImpl.NATIVE, 1);
        assertInstanceOf(NativeConvolutionImpl.class, nat.getLayer("layer1.0.conv1"));
        assertInstanceOf(NativeBatchNormImpl.class, nat.getLayer("layer1.0.bn1"));
        assertInstanceOf(NativeConvolutionImpl.class, ResNetFactory.build(ResNetArch.RESNET18, 4, 64, 1).getLayer("conv1"));
        // Same parameters and initialisation per layer (the flattened order may differ: the native graph has
        // fewer vertices, so its topological order can place a block's shortcut differently).
        for (Layer l : stock.getLayers()) {
            for (String p : l.paramTable().keySet()) {
                assertEquals(l.getParam(p), nat.getLayer(l.conf().getLayer().getLayerName()).getParam(p),
                        l.conf().getLayer().getLayerName() + "_" + p);
            }
        }
        assertInstanceOf(AddReluImpl.class, nat.getVertex("layer2.0.relu2"));
        assertInstanceOf(NativeReluImpl.class, nat.getLayer("layer2.0.relu1"));
        randomiseBn(stock, nat);

        INDArray x = Nd4j.randn(DataType.FLOAT, 4, 3, 64, 64);
        assertTrue(rel(stock.feedForward(x, false).get("avgpool"), nat.feedForward(x, false).get("avgpool")) < 1e-4);
        assertTrue(rel(stock.feedForward(x, true).get("avgpool"), nat.feedForward(x, true).get("avgpool")) < 1e-4);

        INDArray y = Nd4j.zeros(DataType.FLOAT, 4, 4);
        for (int i = 0; i < 4; i++) {
            y.putScalar(i, i, 1f);
        }
        for (ComputationGraph g : new ComputationGraph[]{stock, nat}) {
            g.setInput(0, x);
            g.setLabels(y);
            g.computeGradientAndScore();
        }
        assertEquals(stock.score(), nat.score(), 1e-4 * stock.score());
        // Both float32. A one-pass E[x^2]-E[x]^2 batch variance once put 5e-3 here (layer2 and below); the
        // two-pass variance keeps every gradient within ~1e-5 of DL4J's.
        for (String k : new String[]{"fc_W", "layer4.1.bn2_beta", "layer3.1.bn1_gamma", "layer2.0.downsample.0_W",
                "layer1.0.conv2_W", "bn1_beta", "bn1_gamma", "conv1_W"}) {
            double e = rel(stock.gradient().getGradientFor(k), nat.gradient().getGradientFor(k));
            System.out.printf("gradient %-26s relative difference to DL4J's layers %.2e%n", k, e);
            assertTrue(e < 1e-3, k + ": gradient relative difference " + e);
        }
    }

    @Test
    void runningStatisticsFollowTorchvision() {
        ComputationGraph g = build(LayerImpl.NATIVE, 2);
        INDArray x = Nd4j.randn(DataType.FLOAT, 4, 3, 64, 64).muli(3).addi(1);
        INDArray y = Nd4j.zeros(DataType.FLOAT, 4, 4);
        y.putColumn(0, Nd4j.ones(DataType.FLOAT, 4, 1));
        Layer bn1 = g.getLayer("bn1");
        INDArray m0 = bn1.getParam("mean").dup();
        INDArray v0 = bn1.getParam("var").dup();
        // Batch statistics of bn1's input (conv1 output, NHWC): over N, H, W per channel.
        INDArray c1 = g.feedForward(x, true).get("conv1");
        long c = c1.size(3);
        INDArray flat = c1.reshape(c1.length() / c, c);
        INDArray mean = flat.mean(0);
        INDArray varUnbiased = flat.var(true, 0);
        g.fit(new DataSet(x, y));
        assertTrue(rel(m0.mul(0.9).addi(mean.reshape(m0.shape()).mul(0.1)), bn1.getParam("mean")) < 1e-4);
        assertTrue(rel(v0.mul(0.9).addi(varUnbiased.reshape(v0.shape()).mul(0.1)), bn1.getParam("var")) < 1e-4);
    }

    @Test
    void jsonAndModelSerializerRoundTrip() throws Exception {
        ComputationGraph g = FreezePolicy.LAYER2.apply(build(LayerImpl.NATIVE, 3));
        ComputationGraphConfiguration conf = g.getConfiguration();
        ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(conf.toJson());
        assertEquals(conf, back);
        assertTrue(conf.toJson().contains(NativeConvolution.class.getName()));

        File f = dir.resolve("net.zip").toFile();
        ModelSerializer.writeModel(g, f, true);
        ComputationGraph r = ModelSerializer.restoreComputationGraph(f, true);
        assertEquals(g.params(), r.params());
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 3, 64, 64);
        assertEquals(g.outputSingle(x), r.outputSingle(x));
        // The restored graph still trains (updater state came along) and keeps the native layers.
        assertInstanceOf(NativeBatchNormImpl.class, r.getLayer("layer4.0.bn1"));
        INDArray y = Nd4j.zeros(DataType.FLOAT, 2, 4);
        y.putScalar(0, 1, 1f);
        y.putScalar(1, 2, 1f);
        r.fit(new DataSet(x, y));
        assertNotEquals(g.getLayer("fc").params(), r.getLayer("fc").params());
    }
}
