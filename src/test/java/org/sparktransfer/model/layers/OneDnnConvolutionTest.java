package org.sparktransfer.model.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.sparktransfer.model.ResNetArch;
import org.sparktransfer.model.ResNetFactory;

/**
 * The oneDNN 3.3 kernel against libnd4j's own {@code conv2d}/{@code conv2d_bp} ops (the path it replaces on CPU)
 * on ResNet's convolution shapes: forward with and without bias and fused ReLU, input and weight gradients; the
 * cached weights of an inference-only layer are reused until {@code weightsChanged}; and the first convolution of
 * a ResNet hands back no input gradient. Integration is covered by the parity tests against torchvision.
 */
class OneDnnConvolutionTest {

    @BeforeAll
    static void oneDnnIsOnHere() {
        assertTrue(OneDnn.available(), "the CPU build ships oneDNN 3.3 and must load it");
    }

    static double rel(INDArray expected, INDArray actual) {
        return expected.sub(actual).amaxNumber().doubleValue() / Math.max(1e-12, expected.amaxNumber().doubleValue());
    }

    /** libnd4j conv2d, NHWC in/out, [out, in, kh, kw] weights: the reference. */
    static INDArray reference(INDArray x, INDArray w, INDArray b, int k, int s, int p, boolean relu) {
        long oh = (x.size(1) + 2L * p - k) / s + 1, ow = (x.size(2) + 2L * p - k) / s + 1;
        INDArray y = Nd4j.create(DataType.FLOAT, x.size(0), oh, ow, w.size(0));
        DynamicCustomOp.DynamicCustomOpsBuilder op = DynamicCustomOp.builder("conv2d");
        op = b == null ? op.addInputs(x, w) : op.addInputs(x, w, b);
        Nd4j.exec(op.addOutputs(y).addIntegerArguments(k, k, s, s, p, p, 1, 1, 0, 1, 1).build());
        return relu ? Transforms.relu(y, false) : y;
    }

    @ParameterizedTest(name = "{0}->{1} {2}x{2} s{3} p{4} on {5}x{5}")
    @CsvSource({
            "3, 64, 7, 2, 3, 56",     // the stem
            "64, 64, 3, 1, 1, 14",    // a basic block
            "64, 128, 3, 2, 1, 14",   // a stage's first, strided
            "64, 128, 1, 2, 0, 14",   // its downsample shortcut
            "256, 64, 1, 1, 0, 7",    // a bottleneck's reduce
            "512, 512, 3, 1, 1, 4"})  // layer4 at 112 px
    void matchesLibnd4jForwardAndBackward(int ic, int oc, int k, int s, int p, int hw) {
        Nd4j.getRandom().setSeed(ic * 31L + oc + k);
        INDArray x = Nd4j.randn(DataType.FLOAT, 3, hw, hw, ic);
        INDArray w = Nd4j.randn(DataType.FLOAT, oc, ic, k, k).divi(Math.sqrt(ic * k * k));
        INDArray b = Nd4j.randn(DataType.FLOAT, oc);

        for (boolean bias : new boolean[]{false, true}) {
            for (boolean relu : new boolean[]{false, true}) {
                INDArray expected = reference(x, w, bias ? b : null, k, s, p, relu);
                INDArray y = Nd4j.create(DataType.FLOAT, expected.shape());
                new OneDnnConvolution(new int[]{k, k}, new int[]{s, s}, new int[]{p, p}, bias, relu)
                        .forward(x, w, bias ? b : null, y, false);
                assertTrue(rel(expected, y) < 1e-5, "forward bias=" + bias + " relu=" + relu + ": " + rel(expected, y));
            }
        }

        // Backward of a training forward pass (with bias: the folded layers' layout; without: ResNet's).
        for (boolean bias : new boolean[]{false, true}) {
            OneDnnConvolution conv = new OneDnnConvolution(new int[]{k, k}, new int[]{s, s}, new int[]{p, p}, bias, false);
            INDArray y = Nd4j.create(DataType.FLOAT, reference(x, w, null, k, s, p, false).shape());
            conv.forward(x, w, bias ? b : null, y, true);
            INDArray dy = Nd4j.randn(DataType.FLOAT, y.shape());
            INDArray dx = Nd4j.create(DataType.FLOAT, x.shape()), dW = Nd4j.create(DataType.FLOAT, w.shape());
            INDArray dB = bias ? Nd4j.create(DataType.FLOAT, oc) : null;
            conv.backward(x, w, dy, dx, dW, dB);

            INDArray edx = Nd4j.create(DataType.FLOAT, x.shape()), edW = Nd4j.create(DataType.FLOAT, w.shape());
            INDArray edB = Nd4j.create(DataType.FLOAT, oc);
            DynamicCustomOp.DynamicCustomOpsBuilder op = DynamicCustomOp.builder("conv2d_bp");
            op = bias ? op.addInputs(x, w, b, dy).addOutputs(edx, edW, edB) : op.addInputs(x, w, dy).addOutputs(edx, edW);
            Nd4j.exec(op.addIntegerArguments(k, k, s, s, p, p, 1, 1, 0, 1, 1).build());
            assertTrue(rel(edx, dx) < 1e-5, "dx: " + rel(edx, dx));
            assertTrue(rel(edW, dW) < 1e-4, "dW: " + rel(edW, dW));
            if (bias) {
                assertTrue(rel(edB, dB) < 1e-4, "dB: " + rel(edB, dB));
            }

            // No input gradient wanted: the weight gradient alone, the same.
            INDArray dW2 = Nd4j.create(DataType.FLOAT, w.shape());
            conv.backward(x, w, dy, null, dW2, bias ? Nd4j.create(DataType.FLOAT, oc) : null);
            assertEquals(dW, dW2);
        }
    }

    @Test
    void inferenceOnlyLayerKeepsItsReorderedWeightsUntilTold() {
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 8, 8, 32);
        INDArray w = Nd4j.randn(DataType.FLOAT, 64, 32, 3, 3);
        INDArray b = Nd4j.randn(DataType.FLOAT, 64);
        OneDnnConvolution conv = new OneDnnConvolution(new int[]{3, 3}, new int[]{1, 1}, new int[]{1, 1}, true, true);
        conv.cacheWeights();
        INDArray y = Nd4j.create(DataType.FLOAT, 2, 8, 8, 64);
        conv.forward(x, w, b, y, false);
        INDArray first = y.dup();

        w.muli(2);
        conv.forward(x, w, b, y, false);
        assertEquals(first, y, "cached: the rewritten weights are not read until weightsChanged()");
        conv.weightsChanged();
        conv.forward(x, w, b, y, false);
        assertTrue(rel(reference(x, w, b, 3, 1, 1, true), y) < 1e-5);
        assertNotEquals(first, y);

        // A layer without the cache reads its weights on every call.
        OneDnnConvolution plain = new OneDnnConvolution(new int[]{3, 3}, new int[]{1, 1}, new int[]{1, 1}, true, true);
        plain.forward(x, w, b, y, false);
        w.muli(0.5);
        plain.forward(x, w, b, y, false);
        assertTrue(rel(first, y) < 1e-5);
    }

    @Test
    void firstConvolutionHandsBackNoInputGradient() {
        ComputationGraph g = ResNetFactory.build(ResNetArch.RESNET18, 4, 64, 3);
        g.initGradientsView();
        NativeConvolutionImpl conv1 = (NativeConvolutionImpl) g.getLayer("conv1");
        assertFalse(((NativeConvolution) conv1.conf().getLayer()).isInputGradient());
        assertTrue(((NativeConvolution) g.getLayer("layer1.0.conv1").conf().getLayer()).isInputGradient());
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 3, 64, 64);
        conv1.setInput(x, LayerWorkspaceMgr.noWorkspaces());
        INDArray y = conv1.activate(true, LayerWorkspaceMgr.noWorkspaces());
        var grads = conv1.backpropGradient(Nd4j.randn(DataType.FLOAT, y.shape()), LayerWorkspaceMgr.noWorkspaces());
        assertNull(grads.getSecond());
        assertNotNull(grads.getFirst().getGradientFor("W"));
        assertTrue(grads.getFirst().getGradientFor("W").norm2Number().doubleValue() > 0);
    }
}
