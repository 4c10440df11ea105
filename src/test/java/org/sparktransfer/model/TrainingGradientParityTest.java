package org.sparktransfer.model;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.sparktransfer.testing.PythonScripts;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Training-mode gradients vs PyTorch: src/test/python/make_training_gradients.py computes, in float64, the
 * gradient of every parameter of torchvision ResNet-18/50 ({@code model.train()}, BatchNorm with batch
 * statistics; seeded weights, non-trivial BN parameters and running statistics) for
 * {@code cross_entropy(model(x), y, reduction='sum')}. The Java side loads the same weights into
 * {@link ResNetFactory} graphs, with the native layers and with DL4J's stock layers, and compares
 * {@code computeGradientAndScore()}'s gradients per parameter array (max|diff| / max|ref|) and its score.
 *
 * <p>Scaling (verified here): DL4J's gradients are sums over the minibatch (the updater divides by the
 * minibatch size later), matching the summed loss; its score is the mean loss.
 *
 * <p>Findings (this test's origin: native and stock ResNet-50 gradients differed by up to 7e-2 relative):
 * <ul>
 *   <li>Neither implementation is wrong. With the graphs converted to float64 both match torch to ~5e-8 (the
 *   float32 rounding of the stored reference) for ResNet-18 and ResNet-50, score to 1e-15.</li>
 *   <li>The float32 differences are the problem's conditioning, not a bug. Two effects compound in
 *   ResNet-50: (1) cancellation: in a bottleneck every 1x1 stride-1 convolution followed by a train-mode BN
 *   passes on an input gradient whose sum over positions is exactly zero (BN is shift invariant, the 1x1
 *   conv is per-position linear), so e.g. bn3 beta / conv3 gradients are small remainders of large cancelling
 *   sums; (2) ReLU kinks: some ReLU pre-activation always lies within ~1e-7 (relative to its tensor's max) of
 *   zero (ResNet-50, 64 px, batch 2 or 4, twelve input seeds each: the smallest margin was 3e-9 .. 2.4e-7), so
 *   float32 rounding flips its mask and the gradient jumps by that element's upstream gradient, large next to
 *   the cancelled remainders. PyTorch's own float32 gradients of the batch-4 case here differ from its float64
 *   ones by up to 1.2e-1 (layer3 bn3 beta, conv3, downsample); with batch 2 PyTorch float32 happened to stay
 *   within 9e-5 while both Java implementations flipped the same mask (layer3.2's residual ReLU, channel 170,
 *   pre-activation 7.2e-7 against a max of 5.5) and got 2.2e-1 in layer3.2.conv3 (oneDNN on or off made no
 *   difference; float64 matched to 5e-8). ResNet-18 (3x3 convs with padding break the exact cancellation)
 *   stays well-conditioned: PyTorch float32 and both Java implementations within 5e-6.</li>
 *   <li>DL4J's stock float32 ResNet-50 reproduces PyTorch's float32 errors almost digit for digit here; the
 *   native layers, summing BN statistics by GEMM, land closer to float64 (worst 2e-2 where PyTorch float32
 *   has 1.2e-1; global 6e-4 vs 6e-3).</li>
 * </ul>
 * So: float32 ResNet-18 is asserted tightly for both implementations (this covers the native batch norm's
 * training path, which only runs for float32); float64 ResNet-50 is asserted tightly for both (covering 1x1
 * convolutions, bottlenecks, the fused add+ReLU, in-place ReLUs, the summed-gradient/mean-score scaling);
 * float32 ResNet-50 only as a smoke check against a bound relative to PyTorch's own float32 error. In float64
 * the native batch norm falls back to DL4J's implementation (NHWC); native convolution, ReLU and add+ReLU
 * run their own code.
 *
 * <p>Needs /usr/bin/python3 with torch and torchvision: the test fails (never skips) without them.
 */
class TrainingGradientParityTest {

    /** Well-conditioned float32 cases (ResNet-18): per array, vs float64. */
    static final double TOL_F32 = 1e-4;
    /** Float64 graphs vs the float64 reference stored as float32 (rounding 6e-8). */
    static final double TOL_F64 = 1e-6;

    @TempDir
    static Path dir;
    static JsonNode meta;

    @BeforeAll
    static void generate() throws Exception {
        System.out.print(PythonScripts.run("make_training_gradients.py", 600, dir.toString()));
        meta = new ObjectMapper().readTree(dir.resolve("meta.json").toFile());
    }

    @AfterEach
    void clearProperty() {
        System.clearProperty(LayerImpl.PROPERTY);
    }

    static INDArray readF32(Path f, long... shape) throws IOException {
        return Nd4j.create(PythonScripts.readF32(f), shape, 'c');
    }

    /** DL4J gradient key of a torchvision parameter name ({@code layer1.0.bn1.weight} -> {@code layer1.0.bn1_gamma}). */
    static String dl4jKey(String torchName) {
        int dot = torchName.lastIndexOf('.');
        String vertex = torchName.substring(0, dot), p = torchName.substring(dot + 1);
        if (vertex.equals(ResNetFactory.FC)) {
            return vertex + (p.equals("weight") ? "_W" : "_b");
        }
        boolean bn = vertex.endsWith(".downsample.1") || vertex.substring(vertex.lastIndexOf('.') + 1).startsWith("bn");
        if (bn) {
            return vertex + (p.equals("weight") ? "_gamma" : "_beta");
        }
        return vertex + "_W";
    }

    record Err(String param, double err, double torchF32) {
    }

    record Result(List<Err> errors, double global, double score) {
        Err worst() {
            return errors.get(0);
        }
    }

    /** Gradients of {@code arch} built with {@code impl}, computed in {@code dt}, vs torch's float64 ones. */
    static Result gradients(ResNetArch arch, LayerImpl impl, DataType dt) throws IOException {
        String a = arch.cliName();
        JsonNode c = meta.get("cases").get(a);
        int n = c.get("batch").asInt(), size = c.get("size").asInt(), k = c.get("num_classes").asInt();
        System.setProperty(LayerImpl.PROPERTY, impl.cliName());
        ComputationGraph g;
        try {
            g = ResNetFactory.build(arch, k, size, 1);
        } finally {
            System.clearProperty(LayerImpl.PROPERTY);
        }
        TorchvisionWeights.load(g, arch, SafetensorsReader.read(dir.resolve(a + ".safetensors")), true);
        if (dt != DataType.FLOAT) {
            g = g.convertDataType(dt);
        }
        g.setInput(0, readF32(dir.resolve(a + ".input.f32"), n, 3, size, size).castTo(dt));
        g.setLabels(readF32(dir.resolve(a + ".labels.f32"), n, k).castTo(dt));
        g.computeGradientAndScore();

        Map<String, SafetensorsReader.Tensor> ref = SafetensorsReader.read(dir.resolve(a + ".grads.safetensors"));
        List<Err> errs = new ArrayList<>();
        double diff2 = 0, ref2 = 0;
        for (Map.Entry<String, SafetensorsReader.Tensor> e : ref.entrySet()) {
            String name = e.getKey();
            INDArray want = Nd4j.create(e.getValue().data(), e.getValue().shape(), 'c').castTo(DataType.DOUBLE);
            INDArray got = g.gradient().getGradientFor(dl4jKey(name));
            assertNotNull(got, a + ": no gradient " + dl4jKey(name) + " for " + name);
            got = got.castTo(DataType.DOUBLE);
            if (name.equals("fc.weight")) {
                got = got.transpose(); // DL4J [in, out], torch [out, in]
            }
            got = got.dup('c').reshape(want.shape());
            INDArray d = want.sub(got);
            diff2 += d.norm2Number().doubleValue() * d.norm2Number().doubleValue();
            ref2 += want.norm2Number().doubleValue() * want.norm2Number().doubleValue();
            double err = Transforms.abs(d).maxNumber().doubleValue() / want.amaxNumber().doubleValue();
            errs.add(new Err(name, err, c.get("torch_f32_err").get(name).asDouble()));
        }
        assertEquals(ref.size(), g.gradient().gradientForVariable().values().stream()
                .filter(v -> v != null).count() - countRunningStats(g), a + ": gradient arrays");
        errs.sort(Comparator.comparingDouble(Err::err).reversed());
        Result r = new Result(errs, Math.sqrt(diff2 / ref2), g.score());
        System.out.printf("grad-parity %s %-6s %-6s worst %.3e (%s; torch f32 there %.3e), global %.3e "
                        + "(torch f32 worst %.3e, global %.3e), score %.8f vs torch mean loss %.8f%n",
                a, impl.cliName(), dt, r.worst().err(), r.worst().param(), r.worst().torchF32(), r.global(),
                c.get("torch_f32_worst").asDouble(), c.get("torch_f32_global").asDouble(), r.score(),
                c.get("loss_mean").asDouble());
        // DL4J's score is the mean loss over the minibatch (the gradients are of the sum).
        double tolScore = dt == DataType.DOUBLE ? 1e-12 : 1e-6;
        assertEquals(c.get("loss_mean").asDouble(), r.score(), tolScore * c.get("loss_mean").asDouble(), a + " score");
        return r;
    }

    /** BN running mean/var are parameters in DL4J (with zero gradients), not in torch's named_parameters. */
    private static long countRunningStats(ComputationGraph g) {
        return g.gradient().gradientForVariable().keySet().stream()
                .filter(key -> key.endsWith("_mean") || key.endsWith("_var")).count();
    }

    static void assertAll(Result r, double tol, String what) {
        for (Err e : r.errors()) {
            assertTrue(e.err() <= tol, what + " " + e.param() + ": relative error " + e.err() + " > " + tol);
        }
    }

    /** ResNet-18 in float32: well-conditioned, every array within 1e-4 (measured ~5e-6 for both). */
    @ParameterizedTest
    @EnumSource(LayerImpl.class)
    void resnet18Float32(LayerImpl impl) throws IOException {
        assertAll(gradients(ResNetArch.RESNET18, impl, DataType.FLOAT), TOL_F32, "resnet18 " + impl);
    }

    /** ResNet-50 in float64: the maths of bottlenecks, 1x1 convolutions and the residual add, exactly. */
    @ParameterizedTest
    @EnumSource(LayerImpl.class)
    void resnet50Float64(LayerImpl impl) throws IOException {
        assertAll(gradients(ResNetArch.RESNET50, impl, DataType.DOUBLE), TOL_F64, "resnet50 float64 " + impl);
    }

    /**
     * ResNet-50 in float32: ill-conditioned (see the class comment), so only a smoke check bounded by PyTorch's
     * own float32 error on the same problem: no array worse than twice PyTorch's worst array (5e-2 at least),
     * and the error over all parameters together within twice PyTorch's (1e-2 at least). A real bug, e.g. a
     * wrong batch-norm backprop, gives O(1) errors; exactness is asserted in float64 above.
     */
    @ParameterizedTest
    @EnumSource(LayerImpl.class)
    void resnet50Float32WithinPytorchFloat32Error(LayerImpl impl) throws IOException {
        JsonNode c = meta.get("cases").get("resnet50");
        Result r = gradients(ResNetArch.RESNET50, impl, DataType.FLOAT);
        assertAll(r, Math.max(5e-2, 2 * c.get("torch_f32_worst").asDouble()), "resnet50 float32 " + impl);
        double globalTol = Math.max(1e-2, 2 * c.get("torch_f32_global").asDouble());
        assertTrue(r.global() <= globalTol, "resnet50 float32 " + impl + ": global relative error " + r.global()
                + " > " + globalTol);
    }
}
