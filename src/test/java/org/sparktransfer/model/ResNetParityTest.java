package org.sparktransfer.model;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;

import org.sparktransfer.testing.PythonScripts;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Java vs PyTorch: src/test/python/make_resnet_parity.py builds torchvision ResNets with seeded weights and
 * calibrated BN statistics; the Java side loads the state dicts and must reproduce logits and pooled features.
 * Needs /usr/bin/python3 with torch and torchvision: the test fails (never skips) without them.
 */
class ResNetParityTest {

    /** Max |java - torch| relative to the largest |torch| value. */
    static final double TOL = 1e-4;

    @TempDir
    static Path dir;
    static JsonNode meta;

    @BeforeAll
    static void generate() throws Exception {
        PythonScripts.run("make_resnet_parity.py", 300, dir.toString());
        meta = new ObjectMapper().readTree(dir.resolve("meta.json").toFile());
    }

    static INDArray readF32(Path f, long... shape) throws IOException {
        return Nd4j.create(PythonScripts.readF32(f), shape, 'c');
    }

    /** Returns the relative error reached and asserts it is within TOL. */
    static double assertClose(String what, INDArray expected, INDArray actual) {
        return assertClose(what, expected, actual, TOL);
    }

    /** Returns max |expected - actual| / max |expected| and asserts it is within {@code tol}. */
    static double assertClose(String what, INDArray expected, INDArray actual, double tol) {
        assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
        double scale = expected.amaxNumber().doubleValue();
        double err = Transforms.abs(expected.sub(actual)).maxNumber().doubleValue() / scale;
        System.out.printf("parity %-22s max|diff|/max|ref| = %.3e (max|ref| %.3f)%n", what, err, scale);
        assertTrue(err <= tol, what + ": relative error " + err + " > " + tol);
        return err;
    }

    static ComputationGraph loaded(ResNetArch arch, String file, int size) throws IOException {
        int classes = meta.get("cases").get(arch.cliName()).get("num_classes").asInt();
        ComputationGraph g = ResNetFactory.build(arch, classes, size, 1);
        TorchvisionWeights.load(g, arch, SafetensorsReader.read(dir.resolve(file)), true);
        return g;
    }

    static void checkOutputs(ResNetArch arch, ComputationGraph g, String prefix) throws IOException {
        JsonNode c = meta.get("cases").get(arch.cliName());
        int n = c.get("batch").asInt(), size = c.get("size").asInt(), k = c.get("num_classes").asInt();
        INDArray x = readF32(dir.resolve(arch.cliName() + ".input.f32"), n, 3, size, size);
        Map<String, INDArray> acts = g.feedForward(x, false);
        INDArray pooled = acts.get(ResNetFactory.AVGPOOL);
        assertClose(prefix + " features", readF32(dir.resolve(prefix + ".features.f32"), n, arch.featureDim()), pooled);
        INDArray expLogits = readF32(dir.resolve(prefix + ".logits.f32"), n, k);
        assertClose(prefix + " logits", expLogits, ResNetFactory.logits(g, pooled));
        // The network output itself is softmax(logits).
        INDArray probs = Transforms.softmax(expLogits, true);
        assertEquals(0.0, Transforms.abs(probs.sub(acts.get(ResNetFactory.FC))).maxNumber().doubleValue(), 1e-5);
    }

    @ParameterizedTest
    @EnumSource(ResNetArch.class)
    void logitsAndFeaturesMatchTorchvision(ResNetArch arch) throws IOException {
        int size = meta.get("cases").get(arch.cliName()).get("size").asInt();
        checkOutputs(arch, loaded(arch, arch.cliName() + ".safetensors", size), arch.cliName());
    }

    /** The inference copy with batch norms folded into the convolutions (PredictJob scores with it). */
    @ParameterizedTest
    @EnumSource(ResNetArch.class)
    void foldedInferenceCopyMatchesTorchvision(ResNetArch arch) throws IOException {
        int size = meta.get("cases").get(arch.cliName()).get("size").asInt();
        ComputationGraph folded = BatchNormFolding.fold(loaded(arch, arch.cliName() + ".safetensors", size));
        checkOutputs(arch, folded, arch.cliName());
    }

    @ParameterizedTest
    @ValueSource(strings = {"f16", "bf16"})
    void halfPrecisionCheckpoints(String tag) throws IOException {
        Map<String, SafetensorsReader.Tensor> sd = SafetensorsReader.read(dir.resolve("resnet18_" + tag + ".safetensors"));
        assertEquals(tag.toUpperCase(), sd.get("conv1.weight").dtype());
        assertEquals("I64", sd.get("bn1.num_batches_tracked").dtype());
        checkOutputs(ResNetArch.RESNET18, loaded(ResNetArch.RESNET18, "resnet18_" + tag + ".safetensors", 72),
                "resnet18_" + tag);
    }

    @Test
    void dtypeConversionIsExact() throws IOException {
        Map<String, SafetensorsReader.Tensor> t = SafetensorsReader.read(dir.resolve("dtypes.safetensors"));
        for (String d : new String[]{"f16", "bf16"}) {
            float[] got = t.get(d).data();
            float[] want = t.get(d + "_as_f32").data();
            assertEquals(want.length, got.length);
            for (int i = 0; i < got.length; i++) {
                if (Float.isNaN(want[i])) {
                    assertTrue(Float.isNaN(got[i]), d + "[" + i + "]");
                } else {
                    assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]),
                            d + "[" + i + "]: want " + want[i] + " got " + got[i]);
                }
            }
        }
        assertArrayEquals(new long[]{2, 2}, t.get("i64").shape());
        assertArrayEquals(new float[]{0, -3, 7, (float) (1L << 40)}, t.get("i64").data());
    }

    @Test
    void headlessLoadKeepsOwnHead() throws IOException {
        ComputationGraph g = ResNetFactory.build(ResNetArch.RESNET18, 3, 72, 5);
        INDArray fcBefore = g.getLayer("fc").params().dup();
        TorchvisionWeights.load(g, ResNetArch.RESNET18, SafetensorsReader.read(dir.resolve("resnet18.safetensors")), false);
        assertEquals(fcBefore, g.getLayer("fc").params());
        INDArray x = readF32(dir.resolve("resnet18.input.f32"), 2, 3, 72, 72);
        assertClose("resnet18 headless feats", readF32(dir.resolve("resnet18.features.f32"), 2, 512),
                g.feedForward(x, false).get("avgpool"));
    }

    /** Loads, expecting failure, and checks that the graph was not touched. */
    static String loadFails(ResNetArch arch, Map<String, SafetensorsReader.Tensor> sd) {
        ComputationGraph g = ResNetFactory.build(arch, 10, 64, 9);
        INDArray before = g.params().dup();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TorchvisionWeights.load(g, arch, sd, true));
        assertEquals(before, g.params(), "a failed load must leave the graph unchanged");
        return e.getMessage();
    }

    @Test
    void wrongArchitectureIsNamed() throws IOException {
        Map<String, SafetensorsReader.Tensor> r34 = SafetensorsReader.read(dir.resolve("resnet34.safetensors"));
        String m = loadFails(ResNetArch.RESNET18, r34);
        assertTrue(m.contains("looks like a resnet34") && m.contains("unexpected tensor 'layer1.2.conv1.weight'"), m);

        Map<String, SafetensorsReader.Tensor> r18 = SafetensorsReader.read(dir.resolve("resnet18.safetensors"));
        m = loadFails(ResNetArch.RESNET34, r18);
        assertTrue(m.contains("missing tensor 'layer1.2.conv1.weight' (expected shape [64, 64, 3, 3])"), m);

        Map<String, SafetensorsReader.Tensor> r50 = SafetensorsReader.read(dir.resolve("resnet50.safetensors"));
        m = loadFails(ResNetArch.RESNET18, r50);
        assertTrue(m.contains("tensor 'layer1.0.conv1.weight': expected shape [64, 64, 3, 3], found [64, 64, 1, 1]"), m);
        assertTrue(m.contains("looks like a resnet50"), m);
    }

    @Test
    void missingKeyIsNamed() throws IOException {
        Map<String, SafetensorsReader.Tensor> sd =
                new LinkedHashMap<>(SafetensorsReader.read(dir.resolve("resnet18.safetensors")));
        sd.remove("layer3.1.bn2.running_var");
        String m = loadFails(ResNetArch.RESNET18, sd);
        assertTrue(m.contains("missing tensor 'layer3.1.bn2.running_var' (expected shape [256])"), m);
        assertTrue(m.contains("1 problem(s)"), m);
    }

    @Test
    void truncatedFile() throws IOException {
        byte[] all = Files.readAllBytes(dir.resolve("resnet18_f16.safetensors"));
        IOException e = assertThrows(IOException.class,
                () -> SafetensorsReader.read(Arrays.copyOf(all, all.length - 1000), "cut.safetensors"));
        assertTrue(e.getMessage().contains("cut.safetensors") && e.getMessage().contains("truncated"), e.getMessage());
        e = assertThrows(IOException.class, () -> SafetensorsReader.read(Arrays.copyOf(all, 100), "head.safetensors"));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("header"), e.getMessage());
        e = assertThrows(IOException.class, () -> SafetensorsReader.read(Arrays.copyOf(all, 5), "tiny"));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void unknownDtype() throws IOException {
        byte[] all = Files.readAllBytes(dir.resolve("dtypes.safetensors"));
        String s = new String(all, StandardCharsets.ISO_8859_1);
        // Same length, so the header length prefix stays valid.
        byte[] bad = s.replaceFirst("\"dtype\": \"BF16\"", "\"dtype\": \"F8E9\"").getBytes(StandardCharsets.ISO_8859_1);
        IOException e = assertThrows(IOException.class, () -> SafetensorsReader.read(bad, "bad.safetensors"));
        assertTrue(e.getMessage().contains("tensor 'bf16'") && e.getMessage().contains("unsupported dtype 'F8E9'")
                && e.getMessage().contains("BF16, BOOL, F16, F32"), e.getMessage());
        assertNotNull(DataType.FLOAT);
    }
}
