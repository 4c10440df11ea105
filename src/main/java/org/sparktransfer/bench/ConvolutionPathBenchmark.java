package org.sparktransfer.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.sparktransfer.model.ResNetArch;
import org.sparktransfer.model.layers.OneDnn;
import org.sparktransfer.runtime.NativeRuntime;

/**
 * The two native-layer paths side by side in one JVM: oneDNN 3.3 ({@code OneDnnConvolution} and
 * {@code OneDnnBatchNorm}, the default on CPU) against libnd4j's {@code conv2d}/{@code conv2d_bp} (its bundled
 * oneDNN 2.3) and the batch norm composed of ND4J ops ({@code OneDnn.overrideInThisThread} switches both), same
 * graphs, same batch, steps
 * alternating between the two so that the shared VM's drifting speed hits both alike. Prints a table of median
 * milliseconds per step.
 *
 * <pre>
 * mvn -o -Pbench verify -Dbench.main=org.sparktransfer.bench.ConvolutionPathBenchmark \
 *     -Dbench.args="--archs resnet18 --sizes 112 --modes infer,featextract,finetune --repeats 12"
 * </pre>
 * Run it with {@code OMP_NUM_THREADS} set to the thread count (oneDNN 3.3's OpenMP reads it) and the malloc
 * settings of {@code NativeRuntime.MALLOC_ENV}, as {@code ResNetBenchmark}'s children get them.
 */
public final class ConvolutionPathBenchmark {

    private ConvolutionPathBenchmark() {
    }

    public static void main(String[] args) {
        List<ResNetArch> archs = List.of(ResNetArch.RESNET18);
        List<Integer> sizes = List.of(112);
        List<String> modes = List.of("infer", "featextract", "finetune");
        int repeats = 12;
        int threads = 2;
        for (int i = 0; i + 1 < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--archs" -> archs = Arrays.stream(v.split(",")).map(ResNetArch::fromCliName).toList();
                case "--sizes" -> sizes = Arrays.stream(v.split(",")).map(Integer::parseInt).toList();
                case "--modes" -> modes = List.of(v.split(","));
                case "--repeats" -> repeats = Integer.parseInt(v);
                case "--threads" -> threads = Integer.parseInt(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (--archs resnet18 --sizes 112 --modes infer,featextract,finetune --repeats 12 --threads 2)");
            }
        }
        NativeRuntime.configure(threads);
        if (!OneDnn.available()) {
            throw new IllegalStateException("oneDNN 3.3 is not available in this JVM: nothing to compare");
        }
        List<String> rows = new ArrayList<>();
        for (ResNetArch arch : archs) {
            for (int size : sizes) {
                for (String mode : modes) {
                    rows.add(row(arch, size, mode, repeats));
                }
            }
        }
        System.out.println();
        System.out.println("| arch | px | mode | batch | oneDNN 3.3 ms/step | libnd4j ms/step | libnd4j / oneDNN 3.3 |");
        System.out.println("|---|---|---|---|---|---|---|");
        rows.forEach(System.out::println);
    }

    private static String row(ResNetArch arch, int size, String mode, int repeats) {
        int batch = mode.equals("infer") ? 32 : 16;
        ComputationGraph[] nets = new ComputationGraph[2];
        for (int i = 0; i < 2; i++) {
            Nd4j.getRandom().setSeed(0);
            nets[i] = ResNetBenchmark.network(arch, size, mode, 4, true);
        }
        DataSet ds = ResNetBenchmark.batch(batch, size, 4);
        Runnable[] steps = {ResNetBenchmark.step(nets[0], mode, ds), ResNetBenchmark.step(nets[1], mode, ds)};
        double[][] ms = new double[2][repeats];
        for (int r = -2; r < repeats; r++) {      // two warm-up steps each (the layers pick their path on the first)
            for (int i = 0; i < 2; i++) {
                OneDnn.overrideInThisThread(i == 0);
                long t = System.nanoTime();
                steps[i].run();
                if (r >= 0) {
                    ms[i][r] = (System.nanoTime() - t) / 1e6;
                }
            }
        }
        OneDnn.overrideInThisThread(null);
        double one = median(ms[0]), lib = median(ms[1]);
        System.out.printf(Locale.ROOT, "  %s %d %s: oneDNN 3.3 %s, libnd4j %s ms%n", arch.cliName(), size, mode,
                Arrays.toString(Arrays.stream(ms[0]).mapToLong(Math::round).toArray()),
                Arrays.toString(Arrays.stream(ms[1]).mapToLong(Math::round).toArray()));
        return String.format(Locale.ROOT, "| %s | %d | %s | %d | %.1f | %.1f | %.2f |", arch.cliName(), size, mode, batch,
                one, lib, lib / one);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
