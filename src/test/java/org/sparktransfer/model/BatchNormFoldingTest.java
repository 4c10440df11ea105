package org.sparktransfer.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;

/**
 * The folded inference copy computes the same function as the graph it came from, at every stage output, for
 * plain and frozen graphs, with batch-norm statistics and scales far from the identity; the source graph is
 * left untouched. (Against torchvision itself: ResNetParityTest.)
 */
class BatchNormFoldingTest {

    static double rel(INDArray expected, INDArray actual) {
        return expected.sub(actual).amaxNumber().doubleValue() / expected.amaxNumber().doubleValue();
    }

    @ParameterizedTest
    @EnumSource(value = ResNetArch.class, names = {"RESNET18", "RESNET50"})
    void foldedCopyComputesTheSameFunction(ResNetArch arch) {
        ComputationGraph g = ResNetFactory.build(arch, 5, 64, 3);
        Nd4j.getRandom().setSeed(5);
        for (Layer l : g.getLayers()) {
            if (l.paramTable().containsKey("mean")) {
                l.getParam("mean").assign(Nd4j.randn(DataType.FLOAT, l.getParam("mean").shape()).muli(0.3));
                l.getParam("var").assign(Nd4j.rand(DataType.FLOAT, l.getParam("var").shape()).addi(0.2));
                l.getParam("gamma").assign(Nd4j.rand(DataType.FLOAT, l.getParam("gamma").shape()).addi(0.5));
                l.getParam("beta").assign(Nd4j.randn(DataType.FLOAT, l.getParam("beta").shape()).muli(0.2));
            }
        }
        ComputationGraph frozen = FreezePolicy.LAYER2.apply(g);
        INDArray before = g.params().dup();
        INDArray x = Nd4j.randn(DataType.FLOAT, 3, 3, 64, 64);
        Map<String, INDArray> want = g.feedForward(x, false);
        for (ComputationGraph source : new ComputationGraph[]{g, frozen}) {
            assertTrue(BatchNormFolding.applies(source));
            ComputationGraph f = BatchNormFolding.fold(source);
            assertNull(f.getVertex("bn1"));
            assertNull(f.getVertex("layer1.0.bn1"));
            assertNull(f.getVertex("layer1.0.relu1"), "ReLU fused into layer1.0.conv1");
            assertEquals(arch, ResNetFactory.detect(f));
            Map<String, INDArray> got = f.feedForward(x, false);
            for (int s = 1; s <= 4; s++) {
                String v = ResNetFactory.stageOutput(arch, s);
                double e = rel(want.get(v), got.get(v));
                System.out.printf("folded %s %-16s max|diff|/max|ref| = %.2e%n", arch.cliName(), v, e);
                assertTrue(e < 1e-5, v + ": " + e);
            }
            assertTrue(rel(want.get(ResNetFactory.AVGPOOL), got.get(ResNetFactory.AVGPOOL)) < 1e-5);
            assertTrue(rel(want.get(ResNetFactory.FC), got.get(ResNetFactory.FC)) < 1e-5);
        }
        assertEquals(before, g.params(), "folding leaves the source graph unchanged");
        assertArrayEquals(new long[]{64}, BatchNormFolding.fold(g).getLayer("conv1").getParam("b").shape());
    }
}
