package org.sparktransfer.model;

import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.sparktransfer.data.image.Preprocessing;
import org.sparktransfer.jobs.Cli;
import org.sparktransfer.jobs.TrainCommand;
import org.sparktransfer.testing.TestImages;
import org.sparktransfer.testing.ZooModels;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * DL4J's zoo ResNet50 (Keras layout) as a weight source, used as is: built by the zoo at 96 px with non-trivial BN
 * statistics ({@link ZooModels}; DL4J's pretrained file is 224 px), saved with ModelSerializer and loaded through
 * {@link WeightSources#loadBackbone}.
 */
class KerasResNetTest {
    static final int SIZE = 96;
    static final int CLASSES = 3;

    @TempDir
    static Path dir;
    static ComputationGraph zoo;
    static Path zip;

    @BeforeAll
    static void buildZooModel() throws Exception {
        zoo = ZooModels.resnet50(SIZE, 11);
        zip = ZooModels.save(zoo, dir.resolve("resnet50-zoo.zip"));
    }

    static ComputationGraph load(int classes) throws Exception {
        return WeightSources.loadBackbone(zip.toUri().toString(), ResNetArch.RESNET50, classes, SIZE, 5, new Configuration());
    }

    static float[] bits(INDArray a) {
        return a.dup('c').data().asFloat();
    }

    /** Keras stage of a zoo vertex name (res4b_branch2a, bn4b_branch2a, act4b..., short4b...: 4), stem: 1, head: 9. */
    static int stage(String name) {
        if (name.startsWith("stem")) {
            return 1;
        }
        Matcher m = Pattern.compile("^(res|bn|act|short)([2-5])[a-z]_").matcher(name + "_");
        return m.find() ? m.group(2).charAt(0) - '0' : 9;
    }

    @Test
    void loadedGraphKeepsTheZooBackboneAndGetsAHeadForTheData() throws Exception {
        ComputationGraph g = load(CLASSES);
        assertTrue(KerasResNet.matches(g));
        assertEquals(java.util.List.of("fc"), g.getConfiguration().getNetworkOutputs());
        assertNull(g.getVertex("output"), "the zoo's 1000-class classifier is gone");
        assertArrayEquals(new long[] {2048, CLASSES}, g.getLayer("fc").getParam("W").shape());
        Nd4j.getRandom().setSeed(13);
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, SIZE, SIZE).muli(255).subi(120);
        Map<String, INDArray> mine = g.feedForward(x, false);
        Map<String, INDArray> theirs = zoo.feedForward(x, false);
        double pooledMax = theirs.get(KerasResNet.POOL).amaxNumber().doubleValue();
        assertTrue(pooledMax > 0.1 && pooledMax < 1e3, "finite, non-trivial features (calibrated BN): " + pooledMax);
        for (String v : new String[] {"stem-maxpool1", "res3d_branch", "res5c_branch", KerasResNet.POOL}) {
            assertArrayEquals(bits(theirs.get(v)), bits(mine.get(v)), v + ": same as the zoo graph's own, bit for bit");
        }
        assertArrayEquals(new long[] {2, CLASSES}, g.outputSingle(x).shape());
        assertArrayEquals(new long[] {2, 1000}, zoo.outputSingle(x).shape());
        // Wrong sizes or architectures are named.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                WeightSources.loadBackbone(zip.toUri().toString(), ResNetArch.RESNET18, 3, SIZE, 5, new Configuration()));
        assertTrue(e.getMessage().contains("--arch resnet50"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () ->
                WeightSources.loadBackbone(zip.toUri().toString(), ResNetArch.RESNET50, 3, 64, 5, new Configuration()));
        assertTrue(e.getMessage().contains("64 px"), e.getMessage());
    }

    @Test
    void freezeByStageKeepsFrozenParamsBitForBitAndTrainsTheRest() throws Exception {
        ComputationGraph g = load(CLASSES);
        assertEquals("stem-maxpool1", FreezePolicy.STEM.boundary(g));
        assertEquals("res2c_branch", FreezePolicy.LAYER1.boundary(g));
        assertEquals("res3d_branch", FreezePolicy.LAYER2.boundary(g));
        assertEquals("res4f_branch", FreezePolicy.LAYER3.boundary(g));
        assertEquals("res5c_branch", FreezePolicy.LAYER4.boundary(g));
        assertEquals("avgpool", FreezePolicy.BACKBONE.boundary(g));

        // As InitialNetwork does: freeze, then the run's optimizer for what trains (the zoo's own is RmsProp 0.1).
        ComputationGraph f = new TransferLearning.GraphBuilder(FreezePolicy.LAYER3.apply(g))
                .fineTuneConfiguration(new FineTuneConfiguration.Builder().updater(new Adam(1e-3)).build()).build();
        Map<String, float[]> before = new HashMap<>();
        for (Layer l : f.getLayers()) {
            if (l.numParams() > 0) {
                before.put(l.conf().getLayer().getLayerName(), bits(l.params()));
            }
        }
        Nd4j.getRandom().setSeed(14);
        INDArray probe = Nd4j.rand(DataType.FLOAT, 2, 3, SIZE, SIZE).muli(255).subi(120);
        // Frozen BN normalises with running statistics even in training mode.
        assertArrayEquals(bits(f.feedForward(probe, false).get("res4f_branch")),
                bits(f.feedForward(probe, true).get("res4f_branch")));
        for (int step = 0; step < 2; step++) {
            INDArray x = Nd4j.rand(DataType.FLOAT, 4, 3, SIZE, SIZE).muli(255).subi(120);
            INDArray y = Nd4j.zeros(DataType.FLOAT, 4, CLASSES);
            for (int i = 0; i < 4; i++) {
                y.putScalar(i, (i + step) % CLASSES, 1f);
            }
            f.fit(new DataSet(x, y));
        }
        assertFalse(f.params().isNaN().any() || f.params().isInfinite().any(), "training kept every parameter finite");
        int frozen = 0;
        int trained = 0;
        for (Layer l : f.getLayers()) {
            String name = l.conf().getLayer().getLayerName();
            if (l.numParams() == 0) {
                continue;
            }
            boolean same = Arrays.equals(before.get(name), bits(l.params()));
            if (stage(name) <= 4) {
                assertTrue(ModelSummary.isFrozen(l), name + " should be frozen");
                assertTrue(same, name + ": frozen parameters (BN statistics included) changed");
                frozen++;
            } else {
                assertFalse(ModelSummary.isFrozen(l), name);
                assertFalse(same, name + ": trainable layer did not change");
                trained++;
            }
        }
        System.out.printf("zoo ResNet50, --freeze layer3: %d frozen layers unchanged, %d trained layers changed%n", frozen, trained);
        // Stem (conv + BN) and stages 2-4 (13 blocks x 3 conv + 3 BN, 3 projections x conv + BN); stage 5 and fc.
        assertEquals(86, frozen);
        assertEquals(21, trained);
    }

    @Test
    void preprocessingIsRgbMinusTheMeanOnTheByteScale() {
        Preprocessing p = KerasResNet.preprocessing(Preprocessing.imagenetDefaults());
        assertEquals(224, p.cropSize());
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(300, 300, java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 300; y++) {
            for (int x = 0; x < 300; x++) {
                img.setRGB(x, y, (200 << 16) | (100 << 8) | 7);
            }
        }
        float[] out = new float[p.outputLength()];
        new org.sparktransfer.data.image.EvalTransform(p).apply(img, out, 0);
        int plane = 224 * 224;
        assertEquals(200 - 123.68, out[0], 1e-3);
        assertEquals(100 - 116.779, out[plane], 1e-3);
        assertEquals(7 - 103.939, out[2 * plane + 5], 1e-3);
    }

    /** TrainJob --summary starts from the zoo zip as training does: the zoo backbone, a 3-class head, layer3 frozen. */
    @Test
    void trainJobSummaryUsesTheZooGraph() {
        TestImages.folder().classes("a", "b", "c").perClass(1).writeTo(dir.resolve("images"));
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            code = Cli.run(new TrainCommand(), new String[] {"--images", dir.resolve("images").toString(),
                    "--output", dir.resolve("runs").toString(), "--arch", "resnet50", "--weights", zip.toString(),
                    "--image-size", "" + SIZE, "--resize-size", "110", "--freeze", "layer3", "--summary"});
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, out);
        assertTrue(out.lines().anyMatch(l -> l.startsWith("res2a_branch2a ")), out);
        assertTrue(out.lines().anyMatch(l -> l.startsWith("fc ") && l.contains("[-1, 3]") && l.contains("6,147")), out);
        assertTrue(out.lines().anyMatch(l -> l.startsWith("res4f_branch2c ") && l.strip().endsWith("False")), out);
        assertTrue(out.lines().anyMatch(l -> l.startsWith("res5c_branch2c ") && l.strip().endsWith("True")), out);
    }
}
