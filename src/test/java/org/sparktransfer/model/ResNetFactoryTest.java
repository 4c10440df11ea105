package org.sparktransfer.model;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class ResNetFactoryTest {

    @Test
    void cliNames() {
        assertEquals("resnet50", ResNetArch.RESNET50.cliName());
        assertEquals(ResNetArch.RESNET34, ResNetArch.fromCliName("ResNet34"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ResNetArch.fromCliName("vgg16"));
        assertTrue(e.getMessage().contains("resnet18, resnet34, resnet50"), e.getMessage());
        assertEquals(512, ResNetArch.RESNET34.featureDim());
        assertEquals(2048, ResNetArch.RESNET50.featureDim());
        assertEquals(FreezePolicy.LAYER3, FreezePolicy.fromCliName("layer3"));
        assertEquals("backbone", FreezePolicy.BACKBONE.cliName());
        e = assertThrows(IllegalArgumentException.class, () -> FreezePolicy.fromCliName("all"));
        assertTrue(e.getMessage().contains("none, stem, layer1, layer2, layer3, layer4, backbone"), e.getMessage());
    }

    @Test
    void resnet18CountsMatchTorchvision() {
        ComputationGraph g = ResNetFactory.build(ResNetArch.RESNET18, 1000, 224, 1);
        assertEquals(11_689_512L, ModelSummary.counts(g).total());
        assertEquals(11_689_512L, ModelSummary.counts(g).trainable());
        // DL4J also counts the 4,800 BN channels' running mean and variance.
        assertEquals(11_689_512L + 2 * 4_800, g.numParams());

        ComputationGraph g3 = HeadReplacer.replaceHead(g, 3, 7);
        assertEquals(11_178_051L, ModelSummary.counts(g3).total());
        ComputationGraph frozen = FreezePolicy.BACKBONE.apply(g3);
        ModelSummary.Counts c = ModelSummary.counts(frozen);
        assertEquals(11_178_051L, c.total());
        assertEquals(1_539L, c.trainable());
        assertEquals(11_178_051L - 1_539L, c.nonTrainable());

        String table = ModelSummary.render(frozen, 224);
        assertTrue(table.contains("Total params: 11,178,051"), table);
        assertTrue(table.contains("Trainable params: 1,539"), table);
        assertTrue(table.contains("Non-trainable params: 11,176,512"), table);
        // torchinfo's row for the stem conv: [-1, 3, 224, 224] -> [-1, 64, 112, 112], 9,408 params.
        assertTrue(table.lines().anyMatch(l -> l.startsWith("conv1 ") && l.contains("[-1, 3, 224, 224]")
                && l.contains("[-1, 64, 112, 112]") && l.contains("9,408") && l.contains("False")), table);
        assertTrue(table.lines().anyMatch(l -> l.startsWith("layer4.1.relu2 ") && l.contains("[-1, 512, 7, 7]")), table);
        assertTrue(table.lines().anyMatch(l -> l.startsWith("fc ") && l.contains("[-1, 3]")
                && l.contains("1,539") && l.contains("True")), table);
    }

    @Test
    void resnet34And50Counts() {
        assertEquals(21_797_672L, ModelSummary.counts(ResNetFactory.build(ResNetArch.RESNET34, 1000, 224, 1)).total());
        assertEquals(25_557_032L, ModelSummary.counts(ResNetFactory.build(ResNetArch.RESNET50, 1000, 224, 1)).total());
    }

    @Test
    void namesShapesAndForward() {
        for (ResNetArch arch : ResNetArch.values()) {
            ComputationGraph g = ResNetFactory.build(arch, 5, 64, 3);
            assertEquals(arch, ResNetFactory.detect(g));
            for (String n : new String[]{"conv1", "bn1", "layer1.0.conv1", "layer1.0.bn1", "layer2.0.downsample.0",
                    "layer2.0.downsample.1", "layer4.0.downsample.1", "fc"}) {
                assertNotNull(g.getLayer(n), arch + ": " + n);
            }
            assertEquals(arch.bottleneck(), g.getVertex("layer1.0.downsample.0") != null);
            assertArrayEquals(new long[]{64, 3, 7, 7}, g.getLayer("conv1").getParam("W").shape());
            assertEquals(1.0, g.getLayer("bn1").getParam("var").getDouble(0), 0.0);
            assertArrayEquals(new long[]{arch.featureDim(), 5}, g.getLayer("fc").getParam("W").shape());
            INDArray x = Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 2, 3, 64, 64);
            Map<String, INDArray> acts = g.feedForward(x, false);
            assertArrayEquals(new long[]{2, arch.featureDim()}, acts.get("avgpool").shape());
            assertArrayEquals(new long[]{2, 5}, acts.get("fc").shape());
        }
    }

    @Test
    void buildIsDeterministicPerSeed() {
        ComputationGraph a = ResNetFactory.build(ResNetArch.RESNET18, 4, 32, 11);
        ComputationGraph b = ResNetFactory.build(ResNetArch.RESNET18, 4, 32, 11);
        ComputationGraph c = ResNetFactory.build(ResNetArch.RESNET18, 4, 32, 12);
        assertEquals(a.params(), b.params());
        assertNotEquals(a.params(), c.params());
        assertEquals(HeadReplacer.replaceHead(a, 3, 5).params(), HeadReplacer.replaceHead(b, 3, 5).params());
    }
}
