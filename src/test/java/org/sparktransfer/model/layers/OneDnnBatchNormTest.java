package org.sparktransfer.model.layers;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparktransfer.model.ResNetArch;
import org.sparktransfer.model.ResNetFactory;

/**
 * A ResNet batch-norm layer on oneDNN 3.3 against the same layer on ND4J's ops (the path it replaces on CPU, itself
 * checked against DL4J's stock layer in {@code NativeLayersTest} and against torchvision's gradients in
 * {@code TrainingGradientParityTest}): training output, input / scale / shift gradients, the running statistics
 * after the step, and the inference output with them, on ResNet's channel counts and map sizes.
 */
class OneDnnBatchNormTest {

    @BeforeAll
    static void oneDnnIsOnHere() {
        assertTrue(OneDnn.available(), "the CPU build ships oneDNN 3.3 and must load it");
    }

    @AfterEach
    void noOverride() {
        OneDnn.overrideInThisThread(null);
    }

    /** Training forward, backward, then inference with the updated running statistics: [y, dx, dGamma, dBeta, mean, var, yEval]. */
    static INDArray[] step(Layer bn, INDArray x, INDArray dy) {
        LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
        bn.setInput(x, mgr);
        INDArray y = bn.activate(true, mgr).dup();
        Pair<Gradient, INDArray> g = bn.backpropGradient(dy, mgr);
        INDArray dGamma = g.getFirst().getGradientFor("gamma").dup();
        INDArray dBeta = g.getFirst().getGradientFor("beta").dup();
        INDArray dx = g.getSecond().dup();
        bn.setInput(x, mgr);
        INDArray yEval = bn.activate(false, mgr).dup();
        return new INDArray[]{y, dx, dGamma, dBeta, bn.getParam("mean").dup(), bn.getParam("var").dup(), yEval};
    }

    @ParameterizedTest(name = "{0}: batch {1}, {2}x{2}")
    @CsvSource({
            "bn1, 4, 28",            // the stem's, 64 channels
            "layer2.0.bn2, 3, 14",   // 128 channels
            "layer4.1.bn2, 16, 4",   // 512 channels on 4x4 maps (112 px input)
            "layer4.1.bn2, 1, 1"})   // one value per channel: variance 0
    void matchesTheNd4jOpPath(String name, int n, int hw) {
        ComputationGraph a = ResNetFactory.build(ResNetArch.RESNET18, 4, 64, 5);
        ComputationGraph b = ResNetFactory.build(ResNetArch.RESNET18, 4, 64, 5);
        a.initGradientsView();
        b.initGradientsView();
        NativeLayersTest.randomiseBn(a, b);
        Layer onNd4j = a.getLayer(name);
        Layer onOneDnn = b.getLayer(name);
        long c = onNd4j.getParam("gamma").length();
        Nd4j.getRandom().setSeed(name.hashCode() + n);
        INDArray x = Nd4j.randn(DataType.FLOAT, n, hw, hw, c).muli(2).addi(0.5);
        INDArray dy = Nd4j.randn(DataType.FLOAT, n, hw, hw, c);

        OneDnn.overrideInThisThread(false);
        INDArray[] expected = step(onNd4j, x, dy);
        OneDnn.overrideInThisThread(null);
        INDArray[] actual = step(onOneDnn, x, dy);
        assertFalse(((NativeBatchNormImpl) onNd4j).onOneDnn());
        assertTrue(((NativeBatchNormImpl) onOneDnn).onOneDnn());

        String[] what = {"training output", "dx", "dGamma", "dBeta", "running mean", "running variance", "inference output"};
        for (int i = 0; i < what.length; i++) {
            // dx relative to dy's size: with one value per channel it is 0 up to rounding on both paths.
            double scale = Math.max(expected[i].amaxNumber().doubleValue(), i == 1 ? dy.amaxNumber().doubleValue() : 0);
            double e = expected[i].sub(actual[i]).amaxNumber().doubleValue() / Math.max(1e-12, scale);
            System.out.printf("%s %-16s relative difference %.2e (max |value| %.2e)%n", name, what[i], e,
                    expected[i].amaxNumber().doubleValue());
            assertTrue(e < 1e-4, what[i] + ": relative difference " + e);
        }
    }
}
