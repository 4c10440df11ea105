package org.sparktransfer.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.bytedeco.javacpp.Pointer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.executioner.OpExecutioner;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.profiler.OpProfiler;
import org.nd4j.linalg.profiler.ProfilerConfig;
import org.sparktransfer.model.BatchNormFolding;
import org.sparktransfer.model.FreezePolicy;
import org.sparktransfer.model.FrozenPrefixFolding;
import org.sparktransfer.model.LayerImpl;
import org.sparktransfer.model.ResNetArch;
import org.sparktransfer.model.ResNetFactory;
import org.sparktransfer.runtime.NativeRuntime;

/**
 * DL4J vs PyTorch ResNet throughput and peak memory on this machine, side by side in one invocation.
 *
 * <p>Each row (implementation, arch, size, mode) runs in a fresh child JVM so its peak memory is its own;
 * PyTorch rows run {@code ../shared/bench/torch_resnet_bench.py} (relative to the project root) under
 * {@code /usr/bin/python3} with the same thread count, alternating with the DL4J rows; with {@code --rounds N}
 * each row is measured N times and the medians are reported. Modes, batch sizes and the optimiser (SGD
 * momentum 0.9, lr 0.01; DL4J: Nesterovs) follow the PyTorch script; DL4J rows are timed after a warm-up of at least
 * {@code --warmup-seconds} (see {@link #timedSteps}). Run with {@code mvn -o -Pbench verify}
 * ({@code -Dbench.args="..."} for options) or directly:
 * {@code java -cp ... org.sparktransfer.bench.ResNetBenchmark --archs resnet18 --sizes 112 --modes infer}.
 * {@code --profile} instead prints, per row, where DL4J's time goes (per vertex type and per native op).
 */
public final class ResNetBenchmark {

    static final class Opts {
        List<ResNetArch> archs = List.of(ResNetArch.RESNET18, ResNetArch.RESNET50);
        List<Integer> sizes = List.of(224, 112);
        List<String> modes = List.of("infer", "finetune", "featextract");
        List<LayerImpl> impls = List.of(LayerImpl.defaultImpl());
        int threads = 2;
        int repeats = 5;
        /** DL4J side: warm-up steps run for at least this long (and at least 2) before the timed ones. */
        double warmupSeconds = 10;
        int rounds = 1;
        int inferBatch = 32;
        int trainBatch = 16;
        int classes = 4;
        boolean torch = true;
        boolean profile = false;
        boolean mallocEnv = true;
        boolean fold = true;
        String python = "/usr/bin/python3";
        String torchScript = null;
        String jvmXmx = null;
    }

    private ResNetBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--child")) {
            child(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        Opts o = parse(args);
        new Driver(o).run();
    }

    static Opts parse(String[] args) {
        Opts o = new Opts();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                System.out.println("""
                        ResNetBenchmark [options]
                          --archs resnet18,resnet50    architectures (resnet18, resnet34, resnet50)
                          --sizes 224,112              input sizes in px
                          --modes infer,finetune,featextract
                          --impls native               DL4J layer implementations: native (default), dl4j, or both
                          --threads 2                  threads on both sides (ND4J/OpenMP, torch.set_num_threads)
                          --repeats 5                  timed steps per row; median reported
                          --warmup-seconds 10          DL4J rows: warm-up steps for at least this long (at least 2)
                                                       before the timed ones, so HotSpot has compiled DL4J's graph
                                                       code (PyTorch's script: 2 warm-up steps, it has no JIT)
                          --rounds 1                   times each row is run, alternating DL4J and PyTorch; median
                          --infer-batch 32 --train-batch 16 --classes 4
                          --no-torch                   DL4J only
                          --glibc-malloc-defaults      children run without NativeRuntime.MALLOC_ENV (both sides)
                          --profile                    per-vertex-type and per-op time of each DL4J row (no torch)
                          --no-fold                    infer and featextract rows on the graph as built, not the copies
                                                       with (frozen) batch norms folded into their convolutions that
                                                       PredictJob scores with and TrainJob's workers fit
                          --python /usr/bin/python3 --torch-script PATH --xmx 6g""");
                System.exit(0);
            }
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--archs" -> o.archs = Arrays.stream(v.split(",")).map(ResNetArch::fromCliName).toList();
                case "--sizes" -> o.sizes = Arrays.stream(v.split(",")).map(Integer::parseInt).toList();
                case "--modes" -> o.modes = Arrays.asList(v.split(","));
                case "--impls" -> o.impls = Arrays.stream(v.split(",")).map(LayerImpl::fromCliName).toList();
                case "--threads" -> o.threads = Integer.parseInt(v);
                case "--repeats" -> o.repeats = Integer.parseInt(v);
                case "--warmup-seconds" -> o.warmupSeconds = Double.parseDouble(v);
                case "--rounds" -> o.rounds = Integer.parseInt(v);
                case "--infer-batch" -> o.inferBatch = Integer.parseInt(v);
                case "--train-batch" -> o.trainBatch = Integer.parseInt(v);
                case "--classes" -> o.classes = Integer.parseInt(v);
                case "--python" -> o.python = v;
                case "--torch-script" -> o.torchScript = v;
                case "--xmx" -> o.jvmXmx = v;
                case "--no-torch" -> { o.torch = false; i--; }
                case "--glibc-malloc-defaults" -> { o.mallocEnv = false; i--; }
                case "--profile" -> { o.profile = true; o.torch = false; i--; }
                case "--no-fold" -> { o.fold = false; i--; }
                default -> throw new IllegalArgumentException("unknown option " + a + " (try --help)");
            }
            i++;
        }
        for (String m : o.modes) {
            if (!List.of("infer", "finetune", "featextract").contains(m)) {
                throw new IllegalArgumentException("unknown mode " + m);
            }
        }
        return o;
    }

    /**
     * One measurement: images/s at the median step, and peak memory in MiB (NaN where not measured);
     * {@code meanImgPerS}: images over the seconds of all timed steps (DL4J rows only, NaN for PyTorch's).
     */
    record Result(double imgPerS, double heapMiB, double offHeapMiB, double rssMiB, double meanImgPerS) {
    }

    /** Orchestrates child JVMs and PyTorch processes, prints the table. */
    static final class Driver {
        final Opts o;
        final Path script;
        final boolean torchOk;

        Driver(Opts o) throws Exception {
            this.o = o;
            this.script = o.torchScript != null ? Paths.get(o.torchScript)
                    : Paths.get(System.getProperty("user.dir")).resolve("../shared/bench/torch_resnet_bench.py").normalize();
            this.torchOk = o.torch && torchAvailable();
        }

        boolean torchAvailable() throws Exception {
            if (!Files.isRegularFile(script)) {
                System.err.println("PyTorch side skipped: no script at " + script);
                return false;
            }
            if (!Files.isExecutable(Paths.get(o.python))) {
                System.err.println("PyTorch side skipped: no " + o.python);
                return false;
            }
            Process p = new ProcessBuilder(o.python, "-c", "import torch, torchvision").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (p.waitFor() != 0) {
                System.err.println("PyTorch side skipped: " + o.python + " has no torch/torchvision");
                return false;
            }
            return true;
        }

        void run() throws Exception {
            System.out.printf(Locale.ROOT, "ResNet benchmark: threads=%d repeats=%d warm-up=DL4J >= %.0f s, PyTorch 2 steps; rounds=%d infer-batch=%d "
                            + "train-batch=%d cpus=%d backend=%s malloc=%s%n", o.threads, o.repeats, o.warmupSeconds, o.rounds,
                    o.inferBatch, o.trainBatch,
                    Runtime.getRuntime().availableProcessors(), cpuName(),
                    o.mallocEnv ? "NativeRuntime.MALLOC_ENV (both sides)" : "glibc defaults");
            Map<String, List<Result>> dl4j = new LinkedHashMap<>();
            Map<String, List<Result>> torch = new LinkedHashMap<>();
            for (ResNetArch arch : o.archs) {
                for (int size : o.sizes) {
                    for (String mode : o.modes) {
                        for (int r = 0; r < o.rounds; r++) {
                            for (LayerImpl impl : o.impls) {
                                String key = key(arch, size, mode) + " " + impl.cliName();
                                Result res = runChild(impl, arch, size, mode);
                                dl4j.computeIfAbsent(key, k -> new ArrayList<>()).add(res);
                                System.out.printf(Locale.ROOT, "  dl4j-%s %s %s %d: %.2f img/s%n", impl.cliName(),
                                        arch.cliName(), mode, size, res.imgPerS());
                            }
                            if (torchOk) {
                                Result res = runTorch(arch, size, mode);
                                torch.computeIfAbsent(key(arch, size, mode), k -> new ArrayList<>()).add(res);
                                System.out.printf(Locale.ROOT, "  torch %s %s %d: %.2f img/s%n", arch.cliName(), mode,
                                        size, res.imgPerS());
                            }
                        }
                    }
                }
            }
            if (o.profile) {
                return;
            }
            System.out.println();
            System.out.println("| arch | px | mode | batch | DL4J layers | DL4J img/s | PyTorch img/s | DL4J/PyTorch "
                    + "| DL4J heap MiB | DL4J off-heap MiB | DL4J peak RSS MiB | PyTorch peak RSS MiB |");
            System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|");
            for (ResNetArch arch : o.archs) {
                for (int size : o.sizes) {
                    for (String mode : o.modes) {
                        Result t = median(torch.get(key(arch, size, mode)));
                        for (LayerImpl impl : o.impls) {
                            Result d = median(dl4j.get(key(arch, size, mode) + " " + impl.cliName()));
                            System.out.printf(Locale.ROOT, "| %s | %d | %s | %d | %s | %.1f | %s | %s | %.0f | %.0f | %.0f | %s |%n",
                                    arch.cliName(), size, mode, mode.equals("infer") ? o.inferBatch : o.trainBatch,
                                    impl.cliName(), d.imgPerS(), t == null ? "-" : fmt1(t.imgPerS()),
                                    t == null ? "-" : String.format(Locale.ROOT, "%.2f", d.imgPerS() / t.imgPerS()),
                                    d.heapMiB(), d.offHeapMiB(), d.rssMiB(), t == null ? "-" : String.format(Locale.ROOT, "%.0f", t.rssMiB()));
                        }
                    }
                }
            }
        }

        static String key(ResNetArch arch, int size, String mode) {
            return arch.cliName() + " " + size + " " + mode;
        }

        static String fmt1(double v) {
            return String.format(Locale.ROOT, "%.1f", v);
        }

        static Result median(List<Result> rs) {
            if (rs == null || rs.isEmpty()) {
                return null;
            }
            return new Result(med(rs, Result::imgPerS), med(rs, Result::heapMiB), med(rs, Result::offHeapMiB),
                    med(rs, Result::rssMiB), med(rs, Result::meanImgPerS));
        }

        static double med(List<Result> rs, java.util.function.ToDoubleFunction<Result> f) {
            return ResNetBenchmark.median(rs.stream().mapToDouble(f).toArray());
        }

        Result runChild(LayerImpl impl, ResNetArch arch, int size, String mode) throws Exception {
            List<String> cmd = childJvm(o.jvmXmx);
            cmd.add("-D" + LayerImpl.PROPERTY + "=" + impl.cliName());
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), ResNetBenchmark.class.getName(), "--child",
                    arch.cliName(), String.valueOf(size), mode, String.valueOf(o.threads), String.valueOf(o.repeats),
                    String.valueOf(mode.equals("infer") ? o.inferBatch : o.trainBatch), String.valueOf(o.classes),
                    String.valueOf(o.profile), String.valueOf(o.fold), String.valueOf(o.warmupSeconds)));
            return parseResult(exec(cmd, "RESULT"), "dl4j " + arch + " " + size + " " + mode);
        }

        Result runTorch(ResNetArch arch, int size, String mode) throws Exception {
            // Thin wrapper: runs the shared script unchanged and adds its peak RSS (ru_maxrss, KiB on Linux).
            String wrapper = "import runpy, resource, sys\n"
                    + "sys.argv = sys.argv[1:]\n"
                    + "runpy.run_path(sys.argv[0], run_name='__main__')\n"
                    + "print('RSS_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)\n";
            List<String> cmd = List.of(o.python, "-c", wrapper, script.toString(), "--arch", arch.cliName(),
                    "--size", String.valueOf(size), "--threads", String.valueOf(o.threads), "--modes", mode,
                    "--repeats", String.valueOf(o.repeats), "--infer-batch", String.valueOf(o.inferBatch),
                    "--train-batch", String.valueOf(o.trainBatch), "--classes", String.valueOf(o.classes));
            List<String> lines = exec(cmd, null);
            double ips = Double.NaN;
            double rss = Double.NaN;
            for (String l : lines) {
                if (l.startsWith("torch ") && l.contains("img_per_s=")) {
                    ips = Double.parseDouble(l.substring(l.indexOf("img_per_s=") + 10).trim());
                } else if (l.startsWith("RSS_KIB ")) {
                    rss = Double.parseDouble(l.substring(8).trim()) / 1024;
                }
            }
            if (Double.isNaN(ips)) {
                throw new IllegalStateException("no result from torch " + arch + " " + size + " " + mode + ":\n"
                        + String.join("\n", lines));
            }
            return new Result(ips, Double.NaN, Double.NaN, rss, Double.NaN);
        }

        List<String> exec(List<String> cmd, String echoUnless) throws Exception {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            childEnvironment(pb.environment(), o.threads, o.mallocEnv);
            Process p = pb.start();
            List<String> lines = new ArrayList<>();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                    lines.add(l);
                    if (o.profile && echoUnless != null && !l.startsWith(echoUnless)) {
                        System.out.println(l);
                    }
                }
            }
            if (!p.waitFor(2, TimeUnit.HOURS) || p.exitValue() != 0) {
                throw new IllegalStateException("failed (" + p.exitValue() + "): " + String.join(" ", cmd.subList(0, 1))
                        + "\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size())));
            }
            return lines;
        }

        static Result parseResult(List<String> lines, String what) {
            for (String l : lines) {
                if (l.startsWith("RESULT ")) {
                    Map<String, Double> kv = new TreeMap<>();
                    for (String part : l.substring(7).trim().split(" ")) {
                        String[] p = part.split("=");
                        kv.put(p[0], Double.parseDouble(p[1]));
                    }
                    return new Result(kv.get("img_per_s"), kv.get("heap_mib"), kv.get("offheap_mib"), kv.get("rss_mib"),
                            kv.getOrDefault("mean_img_per_s", Double.NaN));
                }
            }
            throw new IllegalStateException("no result from " + what + ":\n"
                    + String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size())));
        }

        static String cpuName() {
            try {
                return Files.readAllLines(Paths.get("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                        .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("?");
            } catch (IOException e) {
                return "?";
            }
        }
    }

    // ---------------------------------------------------------------- child JVM: one row

    static void child(String[] a) throws Exception {
        ResNetArch arch = ResNetArch.fromCliName(a[0]);
        int size = Integer.parseInt(a[1]);
        String mode = a[2];
        int threads = Integer.parseInt(a[3]);
        int repeats = Integer.parseInt(a[4]);
        int batch = Integer.parseInt(a[5]);
        int classes = Integer.parseInt(a[6]);
        boolean profile = Boolean.parseBoolean(a[7]);
        boolean fold = Boolean.parseBoolean(a[8]);
        double warmupSeconds = Double.parseDouble(a[9]);
        NativeRuntime.configure(threads);
        Nd4j.getRandom().setSeed(0);

        ComputationGraph net = network(arch, size, mode, classes, fold);
        DataSet ds = batch(batch, size, classes);
        INDArray x = ds.getFeatures();
        Runnable step = step(net, mode, ds);

        MemoryWatch mem = new MemoryWatch();
        if (profile) {
            profile(net, x, step, mode, arch, size);
        }
        double[] steps = timedSteps(step, repeats, warmupSeconds, mem);
        double secs = median(steps);
        double meanSecs = Arrays.stream(steps).sum() / steps.length;
        System.out.printf(Locale.ROOT, "RESULT img_per_s=%.3f heap_mib=%.1f offheap_mib=%.1f rss_mib=%.1f mean_img_per_s=%.3f%n",
                batch / secs, mem.heapPeak() / 1048576.0, mem.offHeapPeak / 1048576.0, procStatusKib("VmHWM") / 1024.0,
                batch / meanSecs);
    }

    /** The graph a row times: as built (finetune), frozen backbone (featextract), or the scoring copy (infer). */
    static ComputationGraph network(ResNetArch arch, int size, String mode, int classes, boolean fold) {
        ComputationGraph g = ResNetFactory.build(arch, classes, size, 0, new Nesterovs(0.01, 0.9));
        if (mode.equals("featextract")) {
            g = FreezePolicy.BACKBONE.apply(g);
            if (fold) {
                // What TrainJob's workers fit with frozen layers (frozen batch norms folded into their convolutions).
                g = FrozenPrefixFolding.of(g).training();
            }
        } else if (mode.equals("infer") && fold && BatchNormFolding.applies(g)) {
            // What PredictJob scores with (batch norms folded into the convolutions).
            g = BatchNormFolding.fold(g);
        }
        return g;
    }

    /** A random NCHW batch with one-hot labels cycling through the classes. */
    static DataSet batch(int batch, int size, int classes) {
        INDArray x = Nd4j.randn(DataType.FLOAT, batch, 3, size, size);
        INDArray y = Nd4j.zeros(DataType.FLOAT, batch, classes);
        for (int i = 0; i < batch; i++) {
            y.putScalar(i, i % classes, 1f);
        }
        return new DataSet(x, y);
    }

    /** One timed step of a mode: a forward pass (infer) or a training step. */
    static Runnable step(ComputationGraph net, String mode, DataSet ds) {
        return mode.equals("infer") ? () -> net.output(false, ds.getFeatures())[0].close() : () -> net.fit(ds);
    }

    /** The middle value, or the mean of the two middle values of an even count. */
    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /**
     * The seconds of {@code repeats} timed steps, in order, after warm-up steps for at least {@code warmupSeconds}
     * (and at least 2). Why a time and not 2 steps as PyTorch's script: on two cores HotSpot's C2 compiler threads
     * compile DL4J's graph code during the first seconds and take CPU from the compute threads; ResNet-18
     * fine-tuning at 112 px measured 290-400 ms per step over its first 4 steps and 250-280 ms from then on. A job
     * runs thousands of steps.
     */
    static double[] timedSteps(Runnable step, int repeats, double warmupSeconds, MemoryWatch mem) {
        long warmupStart = System.nanoTime();
        int warmups = 0;
        while (warmups < 2 || (System.nanoTime() - warmupStart) / 1e9 < warmupSeconds) {
            step.run();
            mem.sample();
            warmups++;
        }
        System.out.printf(Locale.ROOT, "  warm-up: %d steps in %.1f s%n", warmups, (System.nanoTime() - warmupStart) / 1e9);
        double[] ts = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            long t = System.nanoTime();
            step.run();
            ts[i] = (System.nanoTime() - t) / 1e9;
            mem.sample();
        }
        return ts;
    }

    /** Peak JVM heap (sum of heap pools' peaks) and peak ND4J/JavaCPP off-heap bytes, sampled per step. */
    static final class MemoryWatch {
        long offHeapPeak;
        long physicalPeak;

        void sample() {
            // JavaCPP-tracked native allocations; ND4J's workspaces and some buffers bypass this counter, so
            // the process peak RSS (VmHWM) is the number to compare with PyTorch.
            offHeapPeak = Math.max(offHeapPeak, Pointer.totalBytes());
            physicalPeak = Math.max(physicalPeak, Pointer.physicalBytes());
        }

        long heapPeak() {
            long s = 0;
            for (MemoryPoolMXBean b : ManagementFactory.getMemoryPoolMXBeans()) {
                if (b.getType() == MemoryType.HEAP) {
                    s += b.getPeakUsage().getUsed();
                }
            }
            return s;
        }
    }

    /** A field of /proc/self/status in KiB (VmHWM: peak resident set; VmRSS: current), 0 off Linux. */
    static long procStatusKib(String field) {
        try {
            for (String l : Files.readAllLines(Paths.get("/proc/self/status"))) {
                if (l.startsWith(field + ":")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux: report 0
        }
        return 0;
    }

    /**
     * The start of a child JVM's command line: this JVM's java and flags (module openings, native limits;
     * agents and debuggers of the parent stay out), with {@code -Xmx} replaced when {@code xmx} is given.
     */
    static List<String> childJvm(String xmx) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!a.startsWith("-agentlib") && !a.startsWith("-javaagent") && !(xmx != null && a.startsWith("-Xmx"))) {
                cmd.add(a);
            }
        }
        if (xmx != null) {
            cmd.add("-Xmx" + xmx);
        }
        return cmd;
    }

    /** A child's environment: {@code threads} OpenMP threads and, unless told otherwise, the launchers' malloc settings. */
    static void childEnvironment(Map<String, String> env, int threads, boolean mallocEnv) {
        env.put("OMP_NUM_THREADS", String.valueOf(threads));
        if (mallocEnv) {
            // What spark-submit/spark-submit gives a job (see NativeRuntime.MALLOC_ENV); both benchmark sides get it.
            env.putAll(NativeRuntime.MALLOC_ENV);
        }
    }

    // ---------------------------------------------------------------- profile

    /**
     * Where the time goes: (1) inference forward vertex by vertex, summed per vertex type; (2) one step of the
     * row's mode under ND4J's op profiler, per native op.
     */
    static void profile(ComputationGraph g, INDArray x, Runnable step, String mode, ResNetArch arch, int size) {
        step.run();
        step.run();
        System.out.printf(Locale.ROOT, "PROFILE %s %d %s, layers=%s%n", arch.cliName(), size, mode, LayerImpl.current().cliName());
        Map<String, double[]> perType = new TreeMap<>();
        int reps = 3;
        for (int r = 0; r < reps; r++) {
            perVertexForward(g, x, perType);
        }
        double total = perType.values().stream().mapToDouble(v -> v[0]).sum();
        System.out.printf(Locale.ROOT, "  inference forward by vertex type (mean of %d, eval mode, no workspaces): %.1f ms%n",
                reps, total / reps);
        perType.entrySet().stream().sorted((p, q) -> Double.compare(q.getValue()[0], p.getValue()[0]))
                .forEach(e -> System.out.printf(Locale.ROOT, "    %-28s %8.1f ms  %5.1f%%  (%d vertices)%n", e.getKey(),
                        e.getValue()[0] / reps, 100 * e.getValue()[0] / total, (int) e.getValue()[1] / reps));

        OpProfiler.getInstance().reset();
        Nd4j.getExecutioner().setProfilingConfig(ProfilerConfig.builder().checkElapsedTime(true).build());
        Nd4j.getExecutioner().setProfilingMode(OpExecutioner.ProfilingMode.OPERATIONS);
        long t = System.nanoTime();
        step.run();
        double wall = (System.nanoTime() - t) / 1e6;
        Nd4j.getExecutioner().setProfilingMode(OpExecutioner.ProfilingMode.DISABLED);
        System.out.printf(Locale.ROOT, "  one %s step under the op profiler: %.1f ms wall (profiling adds overhead)%n", mode, wall);
        OpProfiler.getInstance().printOutDashboard();
    }

    static void perVertexForward(ComputationGraph g, INDArray x, Map<String, double[]> perType) {
        LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
        Map<String, INDArray> acts = new LinkedHashMap<>();
        Map<String, List<String>> inputs = g.getConfiguration().getVertexInputs();
        for (int idx : g.topologicalSortOrder()) {
            GraphVertex v = g.getVertices()[idx];
            String name = v.getVertexName();
            if (v.isInputVertex()) {
                acts.put(name, x);
                continue;
            }
            List<String> in = inputs.get(name);
            long t = System.nanoTime();
            for (int i = 0; i < in.size(); i++) {
                v.setInput(i, acts.get(in.get(i)), mgr);
            }
            INDArray out = v.doForward(false, mgr);
            double ms = (System.nanoTime() - t) / 1e6;
            acts.put(name, out);
            String type = typeOf(v);
            double[] s = perType.computeIfAbsent(type, k -> new double[2]);
            s[0] += ms;
            s[1] += 1;
        }
        for (GraphVertex v : g.getVertices()) {
            v.clear();
        }
    }

    static String typeOf(GraphVertex v) {
        if (v.hasLayer()) {
            org.deeplearning4j.nn.api.Layer l = v.getLayer();
            if (l instanceof org.deeplearning4j.nn.layers.FrozenLayer f) {
                return "Frozen(" + f.getInsideLayer().getClass().getSimpleName() + ")";
            }
            return l.getClass().getSimpleName();
        }
        return v.getClass().getSimpleName();
    }
}
