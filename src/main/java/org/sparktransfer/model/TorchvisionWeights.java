package org.sparktransfer.model;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Maps a torchvision/timm ResNet state dict onto a graph from {@link ResNetFactory}. Loading is strict like
 * PyTorch's {@code load_state_dict(strict=True)}: every expected key must be present with its exact shape and
 * no unknown key may remain (a resnet34 checkpoint contains every resnet18 key, so only the leftovers reveal
 * it). All checks run before the first assignment, so a failed load leaves the graph untouched.
 */
public final class TorchvisionWeights {

    /** Where one state-dict tensor goes in the graph. */
    record Target(String key, String vertex, String param, long[] torchShape, boolean transpose) {
    }

    private TorchvisionWeights() {
    }

    /**
     * Copies the tensors into {@code g}. With {@code includeHead=false}, {@code fc.*} tensors are ignored and
     * the graph's head is left as it is. BN {@code num_batches_tracked} is ignored (DL4J's BN uses a fixed
     * decay). Keys may carry DataParallel's {@code module.} prefix.
     *
     * @throws IllegalArgumentException naming each missing/unexpected tensor and each expected vs found shape
     */
    public static void load(ComputationGraph g, ResNetArch arch, Map<String, SafetensorsReader.Tensor> tensors,
                            boolean includeHead) {
        ResNetArch graphArch = ResNetFactory.detect(g);
        if (graphArch != arch) {
            throw new IllegalArgumentException("Graph is a " + graphArch.cliName() + ", not a " + arch.cliName());
        }
        Map<String, SafetensorsReader.Tensor> sd = stripModulePrefix(tensors);
        List<Target> targets = targets(g, includeHead);

        List<String> problems = new ArrayList<>();
        for (Target t : targets) {
            SafetensorsReader.Tensor x = sd.get(t.key());
            if (x == null) {
                problems.add("missing tensor '" + t.key() + "' (expected shape " + Arrays.toString(t.torchShape()) + ")");
            } else if (!Arrays.equals(x.shape(), t.torchShape())) {
                problems.add("tensor '" + t.key() + "': expected shape " + Arrays.toString(t.torchShape())
                        + ", found " + Arrays.toString(x.shape()));
            }
        }
        TreeSet<String> expected = new TreeSet<>();
        targets.forEach(t -> expected.add(t.key()));
        for (String k : sd.keySet()) {
            boolean ignorable = k.endsWith(".num_batches_tracked") || (!includeHead && k.startsWith("fc."));
            if (!ignorable && !expected.contains(k)) {
                problems.add("unexpected tensor '" + k + "' " + Arrays.toString(sd.get(k).shape()));
            }
        }
        if (!problems.isEmpty()) {
            String guess = guessArch(sd.keySet());
            StringBuilder msg = new StringBuilder("Checkpoint does not fit " + arch.cliName()
                    + (guess != null && !guess.equals(arch.cliName()) ? " (it looks like a " + guess + ")" : "")
                    + ": " + problems.size() + " problem(s):");
            problems.stream().limit(20).forEach(p -> msg.append("\n  ").append(p));
            if (problems.size() > 20) {
                msg.append("\n  ... and ").append(problems.size() - 20).append(" more");
            }
            throw new IllegalArgumentException(msg.toString());
        }

        for (Target t : targets) {
            SafetensorsReader.Tensor x = sd.get(t.key());
            INDArray dst = g.getLayer(t.vertex()).getParam(t.param());
            INDArray src = Nd4j.create(x.data(), t.torchShape(), 'c');
            if (t.transpose()) {
                src = src.transpose();
            }
            // BN vectors are [C] in PyTorch and [1, C] in DL4J: same element order, so reshape is exact.
            dst.assign(src.reshape(dst.shape()));
        }
    }

    /**
     * The graph's weights as a torchvision state dict (float32, PyTorch layouts; no num_batches_tracked),
     * e.g. to write with {@link SafetensorsWriter} for use from PyTorch.
     */
    public static Map<String, SafetensorsReader.Tensor> stateDict(ComputationGraph g) {
        Map<String, SafetensorsReader.Tensor> out = new LinkedHashMap<>();
        for (Target t : targets(g, true)) {
            INDArray p = g.getLayer(t.vertex()).getParam(t.param());
            if (t.transpose()) {
                p = p.transpose();
            }
            float[] data = p.dup('c').reshape('c', t.torchShape()).data().asFloat();
            out.put(t.key(), new SafetensorsReader.Tensor(t.key(), "F32", t.torchShape(), data));
        }
        return out;
    }

    /** State-dict keys and PyTorch shapes the graph expects, in graph order (without num_batches_tracked). */
    public static Map<String, long[]> expectedShapes(ComputationGraph g, boolean includeHead) {
        Map<String, long[]> out = new LinkedHashMap<>();
        for (Target t : targets(g, includeHead)) {
            out.put(t.key(), t.torchShape());
        }
        return out;
    }

    /** Derives the mapping from the graph itself, so it follows whatever ResNetFactory built. */
    static List<Target> targets(ComputationGraph g, boolean includeHead) {
        List<Target> out = new ArrayList<>();
        for (int idx : g.topologicalSortOrder()) {
            GraphVertex v = g.getVertices()[idx];
            if (!v.hasLayer()) {
                continue;
            }
            String name = v.getVertexName();
            Layer l = v.getLayer();
            Map<String, INDArray> p = l.paramTable();
            if (name.equals(ResNetFactory.FC)) {
                if (includeHead) {
                    long[] w = p.get("W").shape();
                    out.add(new Target("fc.weight", name, "W", new long[]{w[1], w[0]}, true));
                    out.add(new Target("fc.bias", name, "b", new long[]{w[1]}, false));
                }
            } else if (p.containsKey("gamma")) {
                long c = p.get("gamma").length();
                out.add(new Target(name + ".weight", name, "gamma", new long[]{c}, false));
                out.add(new Target(name + ".bias", name, "beta", new long[]{c}, false));
                out.add(new Target(name + ".running_mean", name, "mean", new long[]{c}, false));
                out.add(new Target(name + ".running_var", name, "var", new long[]{c}, false));
            } else if (p.containsKey("W")) {
                out.add(new Target(name + ".weight", name, "W", p.get("W").shape(), false));
            }
        }
        return out;
    }

    private static Map<String, SafetensorsReader.Tensor> stripModulePrefix(Map<String, SafetensorsReader.Tensor> in) {
        if (in.isEmpty() || !in.keySet().stream().allMatch(k -> k.startsWith("module."))) {
            return in;
        }
        Map<String, SafetensorsReader.Tensor> out = new LinkedHashMap<>();
        in.forEach((k, v) -> out.put(k.substring("module.".length()), v));
        return out;
    }

    /** Best guess of a state dict's architecture, for error messages only. */
    static String guessArch(java.util.Set<String> keys) {
        boolean bottleneck = keys.contains("layer1.0.conv3.weight");
        int layer3 = 0;
        while (keys.contains("layer3." + layer3 + ".conv1.weight")) {
            layer3++;
        }
        if (layer3 == 0) {
            return null;
        }
        String base = "resnet" + (bottleneck ? (layer3 == 6 ? "50" : layer3 == 23 ? "101" : layer3 == 36 ? "152" : "?")
                : (layer3 == 2 ? "18" : layer3 == 6 ? "34" : "?"));
        return base.endsWith("?") ? null : base;
    }
}
