package org.sparktransfer.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
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
import java.util.concurrent.TimeUnit;

import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.sparktransfer.io.SparkSessions;
import org.sparktransfer.runtime.ExecutorWarmup;
import org.sparktransfer.jobs.Cli;
import org.sparktransfer.jobs.PredictCommand;
import org.sparktransfer.jobs.TrainCommand;
import org.sparktransfer.model.LayerImpl;
import org.sparktransfer.model.ResNetArch;
import org.sparktransfer.runtime.RoundMemory;

/**
 * End to end against model only (issue 7, items 4 and 5), each measurement in its own child JVM.
 *
 * <p>Default mode: generates JPEG photos, runs {@code TrainJob} in local mode ({@code local[T]} with
 * {@code spark.task.cpus=T}: one T-thread worker, as on an executor with {@code spark.task.cpus =
 * spark.executor.cores}) and then {@code PredictJob} on its model, and compares the jobs' rates with
 * {@link ResNetBenchmark}'s model-only rows (random tensors, no Spark) of the same arch, size, batch and
 * freezing, measured in the same invocation. TrainJob's rate is the history table's
 * {@code images_per_second}: training images over the seconds of the whole fit of an epoch, which includes
 * decoding, augmentation, dl4j-spark's export and repartitioning and every averaging round (validation and
 * the checkpoint are excluded; the benchmark runs without validation data unless --val-fraction says otherwise). The first epoch pays the JIT
 * and native warm-up as the model-only row's warm-up steps do, so later epochs are compared. The model-only row
 * runs right before and right after each job and the job is compared with their mean: on a shared VM the machine's
 * speed drifts within minutes, and the two rates show by how much it did. A model-only rate is images over the
 * seconds of all its timed steps, like the jobs' rates (see {@link ModelRate}).
 * PredictJob's rate is its summary's {@code images_per_second}: scored images over the scoring stage
 * (listing is done, decoding, preprocessing, the model load and the forward passes are in it).
 *
 * <p>{@code --memory}: the same TrainJob for a short and a long number of epochs on a small image set
 * (defaults: 64 images, batch 32, 224 px, 2 and 10 epochs), printing each run's peak RSS (VmHWM), peak JVM
 * heap, heap after a full GC at the end, the RSS at the end and the RSS at the start of every epoch.
 *
 * <p>{@code mvn -o -Pbench verify -Dbench.main=org.sparktransfer.bench.JobThroughputBenchmark
 * -Dbench.args="..."}; {@code -Dbench.args=-h} lists the options.
 */
public final class JobThroughputBenchmark {

    static final class Opts {
        ResNetArch arch = ResNetArch.RESNET18;
        List<Integer> sizes = List.of(224);
        int threads = 2;
        int trainImages = 160;
        int predictImages = 320;
        int epochs = 3;
        int trainBatch = 16;
        int inferBatch = 32;
        /** Timed model-only steps per row (see {@link ModelRate}). */
        int repeats = 30;
        int jobRuns = 1;
        /** TrainJob's --averaging-frequency: its default, auto (one round per epoch with this one local worker). */
        int averagingFrequency = 0;
        /** TrainJob's --val-fraction: 0 by default, so that the epochs train on every image. */
        double valFraction = 0;
        String freeze = "none";
        String xmx = "6g";
        String workerNetworks = "reuse";
        boolean train = true;
        boolean predict = true;
        boolean memory = false;
        int memoryImages = 64;
        int memoryBatch = 32;
        int memorySize = 224;
        int shortEpochs = 2;
        int longEpochs = 10;
        boolean mallocEnv = true;
        List<String> childJvmArgs = new ArrayList<>();
        List<String> extraJobArgs = new ArrayList<>();
        Path workDir = null;
    }

    private JobThroughputBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--child-job")) {
            childJob(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        Opts o = parse(args);
        Path work = o.workDir != null ? Files.createDirectories(o.workDir) : Files.createTempDirectory("job-throughput-bench");
        System.out.printf(Locale.ROOT, "Job throughput benchmark: %s, threads=%d, cpus=%d, %s, work dir %s%n",
                o.arch.cliName(), o.threads, Runtime.getRuntime().availableProcessors(), ResNetBenchmark.Driver.cpuName(), work);
        if (o.memory) {
            memory(o, work);
        } else {
            throughput(o, work);
        }
    }

    static Opts parse(String[] args) {
        Opts o = new Opts();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                System.out.println("""
                        JobThroughputBenchmark [options]    TrainJob and PredictJob vs model-only rates
                          --arch resnet18 --sizes 224[,112] --threads 2 (local[T], spark.task.cpus=T)
                          --train-images 160 --predict-images 320 --epochs 3 --train-batch 16 --infer-batch 32
                          --averaging-frequency 0 (auto) --freeze none --repeats 30 (model-only timed steps) --xmx 6g
                          --val-fraction 0                TrainJob's validation share (validation runs after each epoch's fit,
                                                          outside the epoch rate)
                          --no-train | --no-predict       one job only (--no-train: PredictJob scores with an untrained model)
                          --job-runs N                    run each job N times, the model-only row before the first and
                                                          after every run; each run against the mean of its neighbours,
                                                          and the median ratio (the VM's speed drifts within minutes)
                          --job-arg ARG                   extra TrainJob option (repeatable), e.g. --job-arg=--rdd-approach
                          --worker-networks reuse|fresh   TrainJob workers keep their network between rounds, or
                                                          build one per round as dl4j-spark's own worker does
                          --work-dir DIR                  keep images (a folder per count) and runs there (default: a temp dir)
                        JobThroughputBenchmark --memory [options]    peak memory of a short and a long TrainJob
                          --memory-images 64 --memory-batch 32 --memory-size 224 --short-epochs 2 --long-epochs 10
                          --glibc-malloc-defaults         job children without NativeRuntime.MALLOC_ENV
                          --no-round-gc                   without the per-round collections (-Dsparktransfer.roundGc=false)
                          --child-jvm-arg ARG             extra JVM option for the job children (repeatable)""");
                System.exit(0);
            }
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--arch" -> o.arch = ResNetArch.fromCliName(v);
                case "--sizes" -> o.sizes = Arrays.stream(v.split(",")).map(Integer::parseInt).toList();
                case "--threads" -> o.threads = Integer.parseInt(v);
                case "--train-images" -> o.trainImages = Integer.parseInt(v);
                case "--predict-images" -> o.predictImages = Integer.parseInt(v);
                case "--epochs" -> o.epochs = Integer.parseInt(v);
                case "--train-batch" -> o.trainBatch = Integer.parseInt(v);
                case "--infer-batch" -> o.inferBatch = Integer.parseInt(v);
                case "--repeats" -> o.repeats = Integer.parseInt(v);
                case "--job-runs" -> {
                    o.jobRuns = Integer.parseInt(v);
                    if (o.jobRuns < 1) {
                        throw new IllegalArgumentException("--job-runs must be at least 1: " + v);
                    }
                }
                case "--averaging-frequency" -> o.averagingFrequency = Integer.parseInt(v);
                case "--val-fraction" -> o.valFraction = Double.parseDouble(v);
                case "--freeze" -> o.freeze = v;
                case "--xmx" -> o.xmx = v;
                case "--job-arg" -> o.extraJobArgs.add(v);
                case "--worker-networks" -> o.workerNetworks = v;
                case "--work-dir" -> o.workDir = Paths.get(v);
                case "--memory-images" -> o.memoryImages = Integer.parseInt(v);
                case "--memory-batch" -> o.memoryBatch = Integer.parseInt(v);
                case "--memory-size" -> o.memorySize = Integer.parseInt(v);
                case "--short-epochs" -> o.shortEpochs = Integer.parseInt(v);
                case "--long-epochs" -> o.longEpochs = Integer.parseInt(v);
                case "--no-train" -> { o.train = false; i--; }
                case "--no-predict" -> { o.predict = false; i--; }
                case "--memory" -> { o.memory = true; i--; }
                case "--glibc-malloc-defaults" -> { o.mallocEnv = false; i--; }
                case "--no-round-gc" -> { o.childJvmArgs.add("-D" + RoundMemory.ENABLED_PROPERTY + "=false"); i--; }
                case "--child-jvm-arg" -> o.childJvmArgs.add(v);
                default -> {
                    if (a.startsWith("--job-arg=")) {
                        o.extraJobArgs.add(a.substring("--job-arg=".length()));
                        i--;
                    } else {
                        throw new IllegalArgumentException("unknown option " + a + " (try --help)");
                    }
                }
            }
            i++;
        }
        return o;
    }

    // ---------------------------------------------------------------- throughput

    static void throughput(Opts o, Path work) throws Exception {
        Path trainImages = writeOnce(work, "train-images", o.trainImages);
        Path predictImages = writeOnce(work, "predict-images", o.predictImages);
        ResNetBenchmark.Driver models = modelOnly(o);
        Table table = new Table();
        for (int size : o.sizes) {
            String run = o.arch.cliName() + "-" + size + "-" + System.currentTimeMillis();
            Path runs = work.resolve("runs");
            if (o.train) {
                String mode = o.freeze.equals("backbone") ? "featextract" : "finetune";
                table.add(alternating(o.jobRuns, () -> ModelRate.measure(models, o.arch, size, mode), String.format(Locale.ROOT,
                        "TrainJob %s %d px, batch %d, freeze %s, averaging %s, epochs 2-%d", o.arch.cliName(), size, o.trainBatch,
                        o.freeze, o.averagingFrequency == 0 ? "auto" : "every " + o.averagingFrequency, o.epochs), k -> {
                            String name = run + runSuffix(k);
                            ChildResult t = runJob(o, "train", trainArgs(o, trainImages, runs, name, size, o.epochs, o.trainBatch),
                                    runs.resolve(name).resolve("history"));
                            System.out.println(t.describe());
                            return JobOutcome.rate(t.laterEpochsRate());
                        }));
            } else if (o.predict) {
                // Scoring speed does not depend on the weights' values: skip training.
                untrainedModel(o.arch, size, runs.resolve(run).resolve("model"));
            }
            if (o.predict) {
                table.add(alternating(o.jobRuns, () -> ModelRate.measure(models, o.arch, size, "infer"),
                        String.format(Locale.ROOT, "PredictJob %s %d px, batch %d",
                        o.arch.cliName(), size, o.inferBatch), k -> {
                            Path out = work.resolve("predictions-" + run + runSuffix(k));
                            ChildResult p = runJob(o, "predict", List.of("--model", runs.resolve(run).toString(),
                                    "--images", predictImages.toString(), "--output", out.toString(),
                                    "--batch-size", String.valueOf(o.inferBatch)), out.resolve("summary"));
                            System.out.println(p.describe());
                            return new JobOutcome(p.rates.get(0), p.scoring.withStageSeconds(p.seconds.get(0)));
                        }));
            }
        }
        System.out.println();
        // Steal: CPU time the hypervisor gave other guests while each side ran; compare ratios only where both are low.
        System.out.println("| job | model-only img/s (all timed steps), before / after the job | job img/s "
                + "| job / mean model-only | same against the median-step rates | target "
                + "| CPU steal, model-only before / after / job |");
        System.out.println("|---|---|---|---|---|---|---|");
        table.rows.forEach(System.out::println);
        if (!table.scoringRows.isEmpty()) {
            System.out.println();
            System.out.println(ScoringTime.HEADER);
            table.scoringRows.forEach(System.out::println);
        }
    }

    /** The comparison rows of every job, and where PredictJob's scoring stages spent their seconds. */
    static final class Table {
        final List<String> rows = new ArrayList<>();
        final List<String> scoringRows = new ArrayList<>();

        void add(Table t) {
            rows.addAll(t.rows);
            scoringRows.addAll(t.scoringRows);
        }
    }

    /** One run of a job child: its images per second and, for PredictJob, its scoring stage by part (else null). */
    record JobOutcome(double imagesPerSecond, ScoringTime scoring) {
        static JobOutcome rate(double imagesPerSecond) {
            return new JobOutcome(imagesPerSecond, null);
        }
    }

    /** One run of a job child. */
    @FunctionalInterface
    interface JobRun {
        JobOutcome run(int run) throws Exception;
    }

    /** One measurement of the model-only row the job is compared with. */
    @FunctionalInterface
    interface ModelMeasure {
        ModelRate measure() throws Exception;
    }

    /**
     * {@code runs} runs of a job with the model-only row measured before the first and after every run, each
     * run compared with the mean of the rows either side of it; with more than one run, a last row gives the median
     * ratio. One pair of model-only rows cannot tell the job's share from the VM's drift (its speed moved by a
     * quarter within minutes here); alternating several times can.
     */
    static Table alternating(int runs, ModelMeasure model, String label, JobRun job) throws Exception {
        Table table = new Table();
        List<Double> ratios = new ArrayList<>();
        ModelRate before = model.measure();
        for (int k = 0; k < runs; k++) {
            CpuSteal s = CpuSteal.now();
            JobOutcome outcome = job.run(k);
            double rate = outcome.imagesPerSecond();
            String steal = CpuSteal.since(s);
            ModelRate after = model.measure();
            String runLabel = runs > 1 ? label + ", run " + (k + 1) : label;
            table.rows.add(row(runLabel, before, after, rate, steal));
            if (outcome.scoring() != null) {
                table.scoringRows.add(outcome.scoring().row(runLabel, (before.imgPerS() + after.imgPerS()) / 2));
            }
            ratios.add(ratio(before, after, rate));
            before = after;
        }
        if (runs > 1) {
            double median = ResNetBenchmark.median(ratios.stream().mapToDouble(Double::doubleValue).toArray());
            table.rows.add(String.format(Locale.ROOT, "| %s, median of %d runs | | | **%.2f** | | >= 0.85 | |", label,
                    ratios.size(), median));
        }
        return table;
    }

    /** A randomly initialised artifact of the arch and size with writePhotos' four classes, as TrainJob would save it. */
    static void untrainedModel(ResNetArch arch, int size, Path dir) throws IOException {
        org.sparktransfer.data.image.Preprocessing pre = org.sparktransfer.data.image.Preprocessing.builder()
                .resizeSize(size * 8 / 7).cropSize(size).build();
        org.sparktransfer.io.ModelManifest manifest = new org.sparktransfer.io.ModelManifest(
                org.sparktransfer.io.ModelManifest.FORMAT_VERSION, arch.cliName() + "-untrained",
                java.time.Instant.now().toString(), "bench", arch.cliName(), List.of("a", "b", "c", "d"), size,
                size * 8 / 7, pre.mean(), pre.std(), "none", "random", Map.of(), null, Map.of());
        new org.sparktransfer.io.ModelArtifact(org.sparktransfer.model.ResNetFactory.build(arch, 4, size, 1), manifest)
                .save(new org.sparktransfer.io.Storage(new org.apache.hadoop.conf.Configuration()),
                        new org.apache.hadoop.fs.Path(dir.toUri()), false);
        System.out.println("  wrote an untrained " + arch.cliName() + " " + size + " px model to " + dir + " (--no-train)");
    }

    /**
     * A model-only row: images over the seconds of all its timed steps (the mean rate, as the job's rates are:
     * images over an epoch's or a scoring stage's seconds), the rate at its median step (what ResNetBenchmark's
     * table reports, and this table did before 2026-11-30), and the CPU steal while it ran. The two can differ:
     * slow stretches of a few seconds, which the job's minutes always include, fall into a 5-step median's
     * discarded tail but not into the job's mean; so the rows time 30 steps (~25 s) and compare means (on
     * 2026-11-30 the two ratios differed by 0-2%).
     */
    record ModelRate(double imgPerS, double medianStepImgPerS, String steal) {
        static ModelRate measure(ResNetBenchmark.Driver models, ResNetArch arch, int size, String mode) throws Exception {
            CpuSteal s = CpuSteal.now();
            ResNetBenchmark.Result r = models.runChild(LayerImpl.defaultImpl(), arch, size, mode);
            return new ModelRate(r.meanImgPerS(), r.imgPerS(), CpuSteal.since(s));
        }
    }

    static String row(String job, ModelRate before, ModelRate after, double jobRate, String jobSteal) {
        return String.format(Locale.ROOT, "| %s | %.2f / %.2f | %.2f | %.2f | %.2f | >= 0.85 | %s / %s / %s |", job,
                before.imgPerS(), after.imgPerS(), jobRate, ratio(before, after, jobRate),
                ratio(before.medianStepImgPerS(), after.medianStepImgPerS(), jobRate), before.steal(), after.steal(),
                jobSteal);
    }

    /** Names the outputs of a job's later runs apart from the first's. */
    static String runSuffix(int run) {
        return run == 0 ? "" : "-run" + (run + 1);
    }

    /** The job's rate against the mean of the model-only rows measured before and after it. */
    static double ratio(ModelRate before, ModelRate after, double jobRate) {
        return ratio(before.imgPerS(), after.imgPerS(), jobRate);
    }

    private static double ratio(double before, double after, double jobRate) {
        return jobRate / ((before + after) / 2);
    }

    static ResNetBenchmark.Driver modelOnly(Opts o) throws Exception {
        ResNetBenchmark.Opts b = ResNetBenchmark.parse(new String[] {"--no-torch", "--threads", String.valueOf(o.threads),
            "--repeats", String.valueOf(o.repeats), "--train-batch", String.valueOf(o.trainBatch),
            "--infer-batch", String.valueOf(o.inferBatch), "--xmx", o.xmx});
        return new ResNetBenchmark.Driver(b);
    }

    static List<String> trainArgs(Opts o, Path images, Path runs, String run, int size, int epochs, int batch) {
        List<String> a = new ArrayList<>(List.of("--images", images.toString(), "--output", runs.toString(),
                "--run-name", run, "--arch", o.arch.cliName(), "--freeze", o.freeze, "--image-size", String.valueOf(size),
                "--resize-size", String.valueOf(size * 8 / 7), "--epochs", String.valueOf(epochs),
                "--batch-size", String.valueOf(batch), "--averaging-frequency", String.valueOf(o.averagingFrequency),
                "--val-fraction", String.valueOf(o.valFraction)));
        a.addAll(o.extraJobArgs);
        return a;
    }

    /**
     * {@code count} photos in {@code work/<name>-<count>}, written on the first run: a kept --work-dir serves later
     * runs of the same count, and another count gets its own folder instead of silently reusing this one.
     */
    static Path writeOnce(Path work, String name, int count) throws IOException {
        Path dir = work.resolve(name + "-" + count);
        if (!Files.isDirectory(dir)) {
            long t = System.nanoTime();
            FeatureCacheBenchmark.writePhotos(dir, count, 500, 375);
            System.out.printf(Locale.ROOT, "  wrote %d JPEG photos (500x375, 4 classes) to %s in %.1f s%n", count, dir,
                    (System.nanoTime() - t) / 1e9);
        }
        return dir;
    }

    // ---------------------------------------------------------------- memory

    static void memory(Opts o, Path work) throws Exception {
        Path images = writeOnce(work, "memory-images", o.memoryImages);
        Path runs = work.resolve("memory-runs");
        List<ChildResult> results = new ArrayList<>();
        for (int epochs : new int[] {o.shortEpochs, o.longEpochs}) {
            String run = "epochs-" + epochs + "-" + System.currentTimeMillis();
            ChildResult r = runJob(o, "train", trainArgs(o, images, runs, run, o.memorySize, epochs, o.memoryBatch),
                    runs.resolve(run).resolve("history"));
            System.out.println(r.describe());
            results.add(r);
        }
        ChildResult s = results.get(0);
        ChildResult l = results.get(1);
        System.out.printf(Locale.ROOT, "%nTrainJob %s, %d images, %d px, batch %d, freeze %s, local[%d], -Xmx%s, %s, child JVM options %s%n",
                o.arch.cliName(), o.memoryImages, o.memorySize, o.memoryBatch, o.freeze, o.threads, o.xmx,
                o.mallocEnv ? "malloc settings" : "glibc malloc defaults", o.childJvmArgs);
        System.out.println("| epochs | peak RSS MiB | peak RSS - committed heap MiB | peak RSS - heap - metaspace - code cache MiB"
                + " | peak committed heap MiB | peak metaspace + code cache MiB | peak heap MiB | heap after GC MiB"
                + " | RSS at end MiB | RSS at each epoch's start MiB |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|");
        for (int i = 0; i < 2; i++) {
            ChildResult r = results.get(i);
            System.out.printf(Locale.ROOT, "| %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %s |%n",
                    i == 0 ? o.shortEpochs : o.longEpochs, r.mem.get("rss_peak_mib"), r.mem.get("rss_minus_heap_peak_mib"),
                    r.mem.get("native_peak_mib"), r.mem.get("heap_committed_peak_mib"), r.mem.get("jvm_nonheap_peak_mib"),
                    r.mem.get("heap_peak_mib"), r.mem.get("heap_after_gc_mib"), r.mem.get("rss_end_mib"), r.epochRss);
        }
        System.out.println("At each epoch's start (RSS / heap used / libnd4j array bytes, MiB):");
        for (int i = 0; i < 2; i++) {
            System.out.printf(Locale.ROOT, "  %d epochs: %s%n", i == 0 ? o.shortEpochs : o.longEpochs, results.get(i).epochDetail);
        }
        System.out.printf(Locale.ROOT, "| %d / %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | |%n", o.longEpochs,
                o.shortEpochs, l.mem.get("rss_peak_mib") / s.mem.get("rss_peak_mib"),
                l.mem.get("rss_minus_heap_peak_mib") / s.mem.get("rss_minus_heap_peak_mib"),
                l.mem.get("native_peak_mib") / s.mem.get("native_peak_mib"),
                l.mem.get("heap_committed_peak_mib") / s.mem.get("heap_committed_peak_mib"),
                l.mem.get("jvm_nonheap_peak_mib") / s.mem.get("jvm_nonheap_peak_mib"),
                l.mem.get("heap_peak_mib") / s.mem.get("heap_peak_mib"),
                l.mem.get("heap_after_gc_mib") / s.mem.get("heap_after_gc_mib"), l.mem.get("rss_end_mib") / s.mem.get("rss_end_mib"));
    }

    // ---------------------------------------------------------------- child JVMs

    /** What a job child printed: per-epoch or stage rates, memory figures, Spark job times per phase. */
    static final class ChildResult {
        final String what;
        final List<Double> rates = new ArrayList<>();
        final List<Double> seconds = new ArrayList<>();
        final Map<String, Double> mem = new LinkedHashMap<>();
        final List<String> epochRss = new ArrayList<>();
        final List<String> epochDetail = new ArrayList<>();
        final List<String> sparkJobs = new ArrayList<>();
        final List<String> sparkTasks = new ArrayList<>();
        double wallSeconds;
        String roundGc = "";
        /** PredictJob's tasks' own accounts, summed (the stage's seconds are added from the summary). */
        ScoringTime scoring = ScoringTime.NONE;

        ChildResult(String what) {
            this.what = what;
        }

        /** Mean rate over the epochs after the first (all epochs when there is one). */
        double laterEpochsRate() {
            if (rates.size() < 2) {
                return rates.get(0);
            }
            double imgs = 0;
            double secs = 0;
            for (int i = 1; i < rates.size(); i++) {
                imgs += rates.get(i) * seconds.get(i);
                secs += seconds.get(i);
            }
            return imgs / secs;
        }

        String describe() {
            StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "  %s: %.1f s wall; rates %s img/s over %s s; memory %s",
                    what, wallSeconds, fmt(rates), fmt(seconds), mem));
            if (!roundGc.isEmpty()) {
                b.append("; per-round GC: ").append(roundGc);
            }
            b.append(System.lineSeparator()).append("    Spark jobs (phase | first stage | jobs | seconds):");
            sparkJobs.forEach(j -> b.append(System.lineSeparator()).append("      ").append(j));
            b.append(System.lineSeparator()).append("    Spark tasks (stage | tasks | task s | executor run s | deserialize s"
                    + " | result serialize s | result fetch s):");
            sparkTasks.forEach(j -> b.append(System.lineSeparator()).append("      ").append(j));
            return b.toString();
        }

        static String fmt(List<Double> v) {
            return v.stream().map(d -> String.format(Locale.ROOT, "%.2f", d)).toList().toString();
        }
    }

    static ChildResult runJob(Opts o, String kind, List<String> jobArgs, Path table) throws Exception {
        List<String> cmd = ResNetBenchmark.childJvm(o.xmx);
        cmd.addAll(o.childJvmArgs);
        // Local mode as the launchers run it, with one worker of T threads (spark.task.cpus = cores).
        cmd.addAll(List.of("-Dspark.master=local[" + o.threads + "]", "-Dspark.task.cpus=" + o.threads,
                "-Dspark.ui.enabled=false", "-Dspark.driver.host=127.0.0.1", "-Dspark.driver.bindAddress=127.0.0.1",
                "-Dspark.kryoserializer.buffer.max=1024m", "-Dspark.driver.maxResultSize=4g",
                "-Dsparktransfer.workerNetworks=" + o.workerNetworks));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), JobThroughputBenchmark.class.getName(),
                "--child-job", kind, table.toString()));
        cmd.addAll(jobArgs);
        String what = kind + " " + String.join(" ", jobArgs.subList(0, Math.min(jobArgs.size(), 40)));
        System.out.println("  running " + what);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        ResNetBenchmark.childEnvironment(pb.environment(), o.threads, o.mallocEnv);
        long t0 = System.nanoTime();
        Process p = pb.start();
        ChildResult r = new ChildResult(kind);
        List<String> tail = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String l;
            while ((l = in.readLine()) != null) {
                tail.add(l);
                if (tail.size() > 60) {
                    tail.remove(0);
                }
                if (l.startsWith("RATE ")) {
                    String[] f = l.split(" ");
                    r.rates.add(Double.parseDouble(f[2]));
                    r.seconds.add(Double.parseDouble(f[3]));
                } else if (l.startsWith("MEM ")) {
                    for (String kv : l.substring(4).trim().split(" ")) {
                        String[] f = kv.split("=");
                        r.mem.put(f[0], Double.parseDouble(f[1]));
                    }
                } else if (l.startsWith("EPOCHRSS ")) {
                    String[] f = l.substring(9).trim().split(" ", 2);
                    r.epochRss.add(f[0]);
                    r.epochDetail.add(l.substring(9).trim().replace(' ', '/'));
                } else if (l.startsWith("ROUNDGC ")) {
                    r.roundGc = l.substring(8);
                } else if (l.startsWith("SPARKJOB ")) {
                    r.sparkJobs.add(l.substring(9));
                } else if (l.startsWith("SPARKTASK ")) {
                    r.sparkTasks.add(l.substring(10));
                } else if (l.contains(" epoch ") && l.contains("img/s") || l.contains("averaging round: ")
                        || l.contains("Task scored ")) {
                    r.scoring = r.scoring.plusTaskLine(l);
                    int from = l.contains("averaging round: ") ? l.indexOf("averaging round: ")
                            : l.contains("Task scored ") ? l.indexOf("Task scored ") : l.indexOf(" epoch ") + 1;
                    System.out.println("    " + l.substring(Math.max(0, from)));
                }
            }
        }
        if (!p.waitFor(3, TimeUnit.HOURS) || p.exitValue() != 0 || r.rates.isEmpty()) {
            throw new IllegalStateException(kind + " child failed (" + p.exitValue() + "):\n" + String.join("\n", tail));
        }
        r.wallSeconds = (System.nanoTime() - t0) / 1e9;
        return r;
    }

    /**
     * Child: runs the job through the same entry point as {@code TrainJob}/{@code PredictJob} inside a session
     * created the way the jobs create theirs (spark.* from the system properties), then prints the rates from the
     * job's own table, its memory peaks and the Spark jobs' time per phase.
     */
    static void childJob(String[] a) throws Exception {
        String kind = a[0];
        String table = a[1];
        String[] jobArgs = Arrays.copyOfRange(a, 2, a.length);
        // As PredictCommand opens its session: executors read the model while the driver lists the images.
        int model = Arrays.asList(jobArgs).indexOf("--model");
        SparkSession spark = SparkSessions.create("JobThroughputBenchmark " + kind, kind.equals("predict") && model >= 0
                ? Map.of(ExecutorWarmup.MODEL, jobArgs[model + 1]) : Map.of());
        PhaseTimer timer = new PhaseTimer();
        spark.sparkContext().addSparkListener(timer);
        NonHeapWatch nonHeap = NonHeapWatch.start();
        int code = Cli.run(kind.equals("train") ? new TrainCommand() : new PredictCommand(), jobArgs);
        nonHeap.stop();
        if (code != 0) {
            System.exit(code);
        }
        double heapPeak = new ResNetBenchmark.MemoryWatch().heapPeak() / 1048576.0;
        System.gc();
        double heapAfterGc = (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) / 1048576.0;
        double rssEnd = ResNetBenchmark.procStatusKib("VmRSS") / 1024.0;
        List<Row> rows = spark.read().parquet(table).orderBy(kind.equals("train") ? "epoch" : "seconds")
                .select("images_per_second", "seconds").collectAsList();
        for (int i = 0; i < rows.size(); i++) {
            System.out.printf(Locale.ROOT, "RATE %d %.4f %.3f%n", i + 1, rows.get(i).getDouble(0), rows.get(i).getDouble(1));
        }
        timer.print();
        timer.epochRss.forEach((e, v) -> System.out.println("EPOCHRSS " + v));
        System.out.printf(Locale.ROOT, "MEM rss_peak_mib=%.1f heap_peak_mib=%.1f heap_after_gc_mib=%.1f rss_end_mib=%.1f"
                + " nd4j_arrays_end_mib=%.1f rss_minus_heap_peak_mib=%.1f heap_committed_peak_mib=%.1f"
                + " native_peak_mib=%.1f jvm_nonheap_peak_mib=%.1f%n",
                ResNetBenchmark.procStatusKib("VmHWM") / 1024.0, heapPeak, heapAfterGc, rssEnd,
                RoundMemory.arrayBytes() / 1048576.0, nonHeap.peakMib(), nonHeap.committedPeakMib(),
                nonHeap.nativePeakMib(), nonHeap.jvmNonHeapPeakMib());
        System.out.println("ROUNDGC " + RoundMemory.collectionStats());
        spark.stop();
    }

    /**
     * Samples every 100 ms the resident set minus the JVM heap's committed bytes: what the process holds outside
     * the heap (native arrays, glibc's heap, thread stacks, code), which -Xmx does not bound. A peak RSS can grow
     * between runs only because G1 committed (and touched) more of the heap it may use up to -Xmx; this separates
     * the two. Committed heap that was never touched is not resident, so the figure is a lower bound.
     */
    static final class NonHeapWatch {
        private volatile boolean running = true;
        private volatile long peakKib;
        private volatile long committedPeakBytes;
        private volatile long jvmNonHeapPeakBytes;
        private volatile long nativePeakKib;
        private final Thread thread = new Thread(this::run, "non-heap-watch");

        static NonHeapWatch start() {
            NonHeapWatch w = new NonHeapWatch();
            w.thread.setDaemon(true);
            w.thread.start();
            return w;
        }

        private void run() {
            MemoryMXBean bean = ManagementFactory.getMemoryMXBean();
            while (running) {
                long committed = bean.getHeapMemoryUsage().getCommitted();
                long jvmNonHeap = bean.getNonHeapMemoryUsage().getCommitted(); // metaspace, code cache
                long rssKib = ResNetBenchmark.procStatusKib("VmRSS");
                peakKib = Math.max(peakKib, rssKib - committed / 1024);
                nativePeakKib = Math.max(nativePeakKib, rssKib - (committed + jvmNonHeap) / 1024);
                committedPeakBytes = Math.max(committedPeakBytes, committed);
                jvmNonHeapPeakBytes = Math.max(jvmNonHeapPeakBytes, jvmNonHeap);
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        void stop() {
            running = false;
            thread.interrupt();
        }

        double peakMib() {
            return peakKib / 1024.0;
        }

        double committedPeakMib() {
            return committedPeakBytes / 1048576.0;
        }

        /** Peak of RSS minus the committed heap, metaspace and code cache: native arrays, malloc heaps, stacks. */
        double nativePeakMib() {
            return nativePeakKib / 1024.0;
        }

        double jvmNonHeapPeakMib() {
            return jvmNonHeapPeakBytes / 1048576.0;
        }
    }

    /** Spark job time summed per (phase = job description without numbers, first stage's call site). */
    static final class PhaseTimer extends SparkListener {
        final Map<Integer, Long> started = new java.util.concurrent.ConcurrentHashMap<>();
        final Map<Integer, String> keys = new java.util.concurrent.ConcurrentHashMap<>();
        final Map<String, double[]> totals = java.util.Collections.synchronizedMap(new LinkedHashMap<>());
        final Map<String, String> epochRss = java.util.Collections.synchronizedMap(new LinkedHashMap<>());

        @Override
        public void onJobStart(SparkListenerJobStart e) {
            String desc = e.properties() == null ? null : e.properties().getProperty("spark.job.description");
            String phase = desc == null ? "-" : desc.replaceAll("[0-9]+", "#");
            String stage = e.stageInfos().isEmpty() ? "?" : e.stageInfos().head().name().replaceAll(":[0-9]+", "");
            started.put(e.jobId(), e.time());
            keys.put(e.jobId(), phase + " | " + stage);
            if (desc != null && desc.startsWith("epoch ") && desc.contains(": train") && !epochRss.containsKey(desc)) {
                Runtime rt = Runtime.getRuntime();
                epochRss.put(desc, String.format(Locale.ROOT, "%.0f %.0f %.0f", ResNetBenchmark.procStatusKib("VmRSS") / 1024.0,
                        (rt.totalMemory() - rt.freeMemory()) / 1048576.0, RoundMemory.arrayBytes() / 1048576.0));
            }
        }

        @Override
        public void onJobEnd(SparkListenerJobEnd e) {
            Long t = started.remove(e.jobId());
            String k = keys.remove(e.jobId());
            if (t != null) {
                double[] v = totals.computeIfAbsent(k, x -> new double[2]);
                v[0] += 1;
                v[1] += (e.time() - t) / 1e3;
            }
        }

        /** Per stage name: tasks, task wall, executor run, deserialization, result serialization, result fetch (s). */
        final Map<String, double[]> tasks = java.util.Collections.synchronizedMap(new LinkedHashMap<>());
        final Map<Integer, String> stageNames = new java.util.concurrent.ConcurrentHashMap<>();

        @Override
        public void onStageSubmitted(org.apache.spark.scheduler.SparkListenerStageSubmitted e) {
            stageNames.put(e.stageInfo().stageId(), e.stageInfo().name().replaceAll(":[0-9]+", ""));
        }

        @Override
        public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd e) {
            if (e.taskMetrics() == null) {
                return;
            }
            double[] v = tasks.computeIfAbsent(stageNames.getOrDefault(e.stageId(), "?"), x -> new double[6]);
            var m = e.taskMetrics();
            var info = e.taskInfo();
            v[0] += 1;
            v[1] += info.duration() / 1e3;
            v[2] += m.executorRunTime() / 1e3;
            v[3] += m.executorDeserializeTime() / 1e3;
            v[4] += m.resultSerializationTime() / 1e3;
            v[5] += info.gettingResultTime() > 0 ? (info.finishTime() - info.gettingResultTime()) / 1e3 : 0;
        }

        void print() {
            synchronized (totals) {
                totals.forEach((k, v) -> System.out.printf(Locale.ROOT, "SPARKJOB %s | %d | %.1f%n", k, (int) v[0], v[1]));
            }
            synchronized (tasks) {
                tasks.forEach((k, v) -> System.out.printf(Locale.ROOT, "SPARKTASK %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f%n",
                        k, (int) v[0], v[1], v[2], v[3], v[4], v[5]));
            }
        }
    }
}
