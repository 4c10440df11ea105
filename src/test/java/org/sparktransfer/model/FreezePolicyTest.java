package org.sparktransfer.model;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class FreezePolicyTest {

    static final int SIZE = 32;

    /** Stage prefixes frozen by each policy (by torchvision module name). */
    static boolean frozenBy(FreezePolicy p, String vertex) {
        if (p == FreezePolicy.NONE) {
            return false;
        }
        if (p == FreezePolicy.BACKBONE) {
            return !vertex.equals("fc");
        }
        if (vertex.equals("fc") || vertex.equals("avgpool")) {
            return false;
        }
        int stage = vertex.startsWith("layer") ? vertex.charAt(5) - '0' : 0; // conv1/bn1/relu/maxpool = stem (0)
        return stage <= p.ordinal() - 1;
    }

    static ComputationGraph base(long seed) {
        return ResNetFactory.build(ResNetArch.RESNET18, 3, SIZE, seed, new Adam(1e-2));
    }

    static float[] bits(INDArray a) {
        return a.dup('c').data().asFloat();
    }

    @Test
    void trainableCountsPerPolicy() {
        ComputationGraph g = base(1);
        Map<FreezePolicy, Long> known = Map.of(FreezePolicy.NONE, 11_178_051L, FreezePolicy.STEM, 11_168_515L,
                FreezePolicy.LAYER1, 11_020_547L, FreezePolicy.BACKBONE, 1_539L);
        for (FreezePolicy p : FreezePolicy.values()) {
            ComputationGraph f = p.apply(g);
            long expected = 0;
            for (Layer l : g.getLayers()) {
                if (!frozenBy(p, l.conf().getLayer().getLayerName())) {
                    expected += ModelSummary.torchParams(l);
                }
            }
            ModelSummary.Counts c = ModelSummary.counts(f);
            assertEquals(11_178_051L, c.total(), p.cliName());
            assertEquals(expected, c.trainable(), p.cliName());
            if (known.containsKey(p)) {
                assertEquals(known.get(p), c.trainable(), p.cliName());
            }
            // Freezing carries every parameter over, BN statistics included.
            assertArrayEquals(bits(g.params()), bits(f.params()), p.cliName());
        }
    }

    @ParameterizedTest
    @EnumSource(FreezePolicy.class)
    void frozenParamsAndBnStatsNeverMove(FreezePolicy p) {
        ComputationGraph g = p.apply(base(2));
        Map<String, float[]> before = new HashMap<>();
        for (Layer l : g.getLayers()) {
            if (l.numParams() > 0) before.put(l.conf().getLayer().getLayerName(), bits(l.params()));
        }
        Nd4j.getRandom().setSeed(3);
        for (int step = 0; step < 3; step++) {
            INDArray x = Nd4j.randn(DataType.FLOAT, 4, 3, SIZE, SIZE).muli(2).addi(0.5);
            INDArray y = Nd4j.zeros(DataType.FLOAT, 4, 3);
            for (int i = 0; i < 4; i++) {
                y.putScalar(i, (i + step) % 3, 1f);
            }
            g.fit(new DataSet(x, y));
        }
        for (Layer l : g.getLayers()) {
            String name = l.conf().getLayer().getLayerName();
            if (l.numParams() == 0) {
                continue;
            }
            boolean same = java.util.Arrays.equals(before.get(name), bits(l.params()));
            if (frozenBy(p, name)) {
                assertTrue(ModelSummary.isFrozen(l), name + " should be frozen under " + p);
                assertTrue(same, name + ": frozen parameters changed under " + p);
            } else {
                assertFalse(ModelSummary.isFrozen(l), name);
                assertFalse(same, name + ": trainable layer did not change under " + p);
                if (l.paramTable().containsKey("mean")) {
                    // Trainable BN layers do update their running statistics in train mode.
                    assertFalse(java.util.Arrays.equals(bits(l.getParam("mean")), slice(before.get(name), l, "mean")),
                            name + " running mean");
                }
            }
        }
    }

    /** The slice of a layer's flattened "before" params that belongs to one parameter. */
    static float[] slice(float[] flat, Layer l, String param) {
        int off = 0;
        for (Map.Entry<String, INDArray> e : l.paramTable().entrySet()) {
            int n = (int) e.getValue().length();
            if (e.getKey().equals(param)) {
                return java.util.Arrays.copyOfRange(flat, off, off + n);
            }
            off += n;
        }
        throw new IllegalArgumentException(param);
    }

    @Test
    void frozenBatchNormUsesRunningStatisticsInTrainMode() {
        ComputationGraph g = base(4);
        // Move the running statistics away from (0, 1) so "uses running stats" is observable.
        for (Layer l : g.getLayers()) {
            if (l.paramTable().containsKey("mean")) {
                l.getParam("mean").assign(Nd4j.rand(DataType.FLOAT, l.getParam("mean").shape()).subi(0.5));
                l.getParam("var").assign(Nd4j.rand(DataType.FLOAT, l.getParam("var").shape()).addi(0.5));
            }
        }
        INDArray x = Nd4j.randn(DataType.FLOAT, 4, 3, SIZE, SIZE);
        INDArray eval = g.feedForward(x, false).get("avgpool");
        INDArray unfrozenTrain = g.feedForward(x, true).get("avgpool");
        assertFalse(java.util.Arrays.equals(bits(eval), bits(unfrozenTrain)), "train mode uses batch statistics");
        ComputationGraph f = FreezePolicy.BACKBONE.apply(g);
        assertArrayEquals(bits(eval), bits(f.feedForward(x, true).get("avgpool")));
    }

    @Test
    void replacedHeadKeepsBackboneAndFreezing() {
        ComputationGraph g = FreezePolicy.LAYER4.apply(base(5));
        ComputationGraph h = HeadReplacer.replaceHead(g, 7, 9);
        assertArrayEquals(new long[]{512, 7}, h.getLayer("fc").getParam("W").shape());
        for (String n : Set.of("conv1", "layer2.1.bn2", "layer4.1.conv2")) {
            assertArrayEquals(bits(g.getLayer(n).params()), bits(h.getLayer(n).params()), n);
            assertTrue(ModelSummary.isFrozen(h.getLayer(n)), n);
        }
        assertFalse(ModelSummary.isFrozen(h.getLayer("fc")));
        double bound = 1 / Math.sqrt(512);
        assertTrue(h.getLayer("fc").params().amaxNumber().doubleValue() <= bound);
        assertEquals(1_539L + 512 * 4 + 4, ModelSummary.counts(h).trainable());
        // The new head trains with the graph's updater, and training it leaves the frozen backbone alone.
        assertEquals(((org.deeplearning4j.nn.conf.layers.BaseLayer) g.getLayer("fc").conf().getLayer()).getIUpdater(),
                ((org.deeplearning4j.nn.conf.layers.BaseLayer) h.getLayer("fc").conf().getLayer()).getIUpdater());
        float[] backbone = bits(h.getLayer("layer4.1.bn2").params());
        float[] head = bits(h.getLayer("fc").params());
        INDArray y = Nd4j.zeros(DataType.FLOAT, 2, 7);
        y.putScalar(0, 1, 1f);
        y.putScalar(1, 6, 1f);
        h.fit(new DataSet(Nd4j.randn(DataType.FLOAT, 2, 3, SIZE, SIZE), y));
        assertArrayEquals(backbone, bits(h.getLayer("layer4.1.bn2").params()));
        assertFalse(java.util.Arrays.equals(head, bits(h.getLayer("fc").params())));
    }
}
