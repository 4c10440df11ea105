package org.sparktransfer.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.sparktransfer.io.ModelArtifact;
import org.sparktransfer.io.Storage;
import org.sparktransfer.testing.LocalSpark;
import org.sparktransfer.testing.MiniHdfs;
import org.sparktransfer.testing.StandaloneCluster;
import org.sparktransfer.testing.TestImages;

/**
 * The jobs as a user runs them on a Spark standalone cluster: a Master and two Workers as separate
 * JVMs on loopback (laid out like a Spark distribution, see {@link StandaloneCluster}), data and
 * outputs on a real HDFS (MiniDFSCluster, so dl4j-spark's default Export approach has the shared
 * file system it needs), and each job submitted as its own process through
 * {@code spark-submit/spark-submit} in client mode with the shaded {@code target/spark-transfer.jar}
 * and the {@code conf/standalone.conf} template sized down to one core per executor.
 *
 * <p>Runs after {@code package} (failsafe, inside {@code mvn verify}); tagged slow, so it runs with
 * {@code -Pall-tests}. Logs of every process stay under {@code target/standalone-cluster-it/}.
 */
@Tag("slow")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StandaloneClusterIT {
    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final Path BASE = ROOT.resolve("target/standalone-cluster-it");
    private static final Path JAR = Path.of(System.getProperty("sparktransfer.test.jar", "target/spark-transfer.jar")).toAbsolutePath();
    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(10);
    /**
     * ResNet-18 at 32 px, batches of 8, averaging after every minibatch (else dl4j-spark packs one
     * worker's batch x frequency examples and this small epoch goes to a single worker), two workers.
     */
    private static final List<String> TINY_TRAINING = List.of("--arch", "resnet18", "--image-size", "32",
            "--resize-size", "36", "--batch-size", "8", "--averaging-frequency", "1", "--workers", "2");

    private static MiniHdfs hdfs;
    private static StandaloneCluster cluster;
    private static LocalSpark spark;
    private static TestImages.Folder images;

    @BeforeAll
    static void start() throws Exception {
        assertJarIsCurrent();
        deleteTree(BASE);
        Files.createDirectories(BASE);
        hdfs = MiniHdfs.start();
        try {
            images = TestImages.folder().classes("red", "green", "blue").perClass(8)
                    .truncated("green/broken.png").writeTo(hdfs.fileSystem(), new org.apache.hadoop.fs.Path(hdfs.uri() + "/data/train"));
            long t0 = System.nanoTime();
            cluster = StandaloneCluster.start(BASE, 2, 1, "1536m");
            log("standalone cluster up in %.1f s: master %s, web UI %s", (System.nanoTime() - t0) / 1e9,
                    cluster.masterUrl(), cluster.webUi());
            spark = LocalSpark.start(); // reads the jobs' Parquet outputs back from HDFS
        } catch (Exception | Error e) {
            stop();
            throw e;
        }
    }

    @AfterAll
    static void stop() {
        try {
            if (spark != null) {
                spark.close();
            }
        } finally {
            try {
                if (cluster != null) {
                    cluster.close();
                    assertEquals(List.of(), cluster.leftovers().stream().map(ProcessHandle::pid).toList(),
                            "processes of the standalone cluster still alive after close()");
                }
            } finally {
                if (hdfs != null) {
                    hdfs.close();
                }
            }
        }
    }

    @Test
    @Order(1)
    void trainsAndScoresOnTwoWorkers() throws Exception {
        String runs = hdfs.uri() + "/runs";
        Submit train = Submit.start("it-train", "TrainJob", List.of(
                "--images", images.root(), "--output", runs, "--run-name", "it-train", "--epochs", "1"));
        assertEquals(0, train.await(), () -> "TrainJob failed; its log:\n" + train.tail());
        String runDir = runs + "/it-train";
        PipelineOutputs.assertTrainRun(spark.spark(), runDir, images, "decode/TRUNCATED");
        assertTrue(train.output().contains("Run it-train complete") && train.output().contains("not resumed, trained epochs 1-1"),
                () -> "TrainJob's closing line; log:\n" + train.tail());
        assertExecutorsOnBothWorkers("it-train");

        Submit predict = Submit.start("it-predict", "PredictJob", List.of(
                "--model", runDir + "/model", "--images", images.root(), "--output", hdfs.uri() + "/scores",
                "--run-date", "2026-01-15", "--run-id", "cluster", "--batch-size", "8", "--top-k", "2"));
        assertEquals(0, predict.await(), () -> "PredictJob failed; its log:\n" + predict.tail());
        PipelineOutputs.assertPredictRun(spark.spark(), hdfs.uri() + "/scores", images, "2026-01-15", "cluster", 2,
                Map.of("green/broken.png", "decode/TRUNCATED"));
        assertExecutorsOnBothWorkers("it-predict");
    }

    /**
     * A Worker JVM is killed (SIGKILL) once epoch 1's checkpoint exists, while epoch 2 trains. Either
     * Spark re-runs the lost tasks on the remaining worker and the job finishes, or the job fails and
     * a {@code --resume} rerun finishes from the checkpoint; the test says which, and both end with
     * one history row per epoch.
     */
    @Test
    @Order(2)
    void survivesLosingAWorkerDuringTraining() throws Exception {
        String runs = hdfs.uri() + "/runs";
        String run = "it-fault";
        int epochs = 3;
        List<String> args = List.of("--images", images.root(), "--output", runs, "--run-name", run,
                "--epochs", String.valueOf(epochs));
        FileSystem fs = hdfs.fileSystem();
        org.apache.hadoop.fs.Path firstCheckpoint = new org.apache.hadoop.fs.Path(runs + "/" + run + "/checkpoints/epoch-0001/state.json");

        Submit first = Submit.start(run, "TrainJob", args);
        long deadline = System.nanoTime() + JOB_TIMEOUT.toNanos();
        while (!fs.exists(firstCheckpoint)) {
            cluster.trackChildren();
            if (!first.process.isAlive()) {
                fail("TrainJob ended (exit " + first.process.exitValue() + ") before epoch 1's checkpoint; log:\n" + first.tail());
            }
            if (System.nanoTime() > deadline) {
                first.kill();
                fail("no checkpoint of epoch 1 within " + JOB_TIMEOUT + "; log:\n" + first.tail());
            }
            Thread.sleep(200);
        }
        String appId = cluster.appId(run).orElseThrow();
        List<Path> executorLogs = cluster.executorLogs(1, appId);
        assertFalse(executorLogs.isEmpty(), "worker 1 runs an executor of " + appId);
        // Kill while that executor runs a task of epoch 2 (one started after the checkpoint and not finished),
        // so that Spark has work in flight to re-run elsewhere, not only cached blocks to recompute.
        int tidAtCheckpoint = ExecutorTasks.of(executorLogs).maxTid();
        TaskAttempt running = null;
        while (running == null) {
            cluster.trackChildren();
            running = ExecutorTasks.of(cluster.executorLogs(1, appId)).runningAfter(tidAtCheckpoint);
            if (running != null) {
                // Only a task still running a moment later: the small jobs around a round take milliseconds, and one
                // that finished before the kill leaves nothing in flight to re-run (seen once: TrainJob finished,
                // no retry to find). The round's fit runs for seconds.
                Thread.sleep(300);
                TaskAttempt candidate = running;
                if (ExecutorTasks.of(cluster.executorLogs(1, appId)).finished().stream().anyMatch(f -> f.tid() == candidate.tid())) {
                    tidAtCheckpoint = candidate.tid();
                    running = null;
                    continue;
                }
            }
            if (running == null) {
                if (!first.process.isAlive()) {
                    fail("TrainJob ended (exit " + first.process.exitValue() + ") before worker 1 ran a task of epoch 2; log:\n" + first.tail());
                }
                if (System.nanoTime() > deadline) {
                    first.kill();
                    fail("worker 1 ran no task after epoch 1's checkpoint within " + JOB_TIMEOUT);
                }
                Thread.sleep(50);
            }
        }
        List<ProcessHandle> orphans = cluster.killWorker(1);
        log("killed worker 1 after epoch 1's checkpoint while its executor ran %s; its executor processes: %s",
                running, orphans.stream().map(ProcessHandle::pid).toList());
        // A standalone executor watches its Worker (WorkerWatcher) and exits when the connection drops.
        long orphanDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (orphans.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < orphanDeadline) {
            Thread.sleep(200);
        }
        List<Long> survivors = orphans.stream().filter(ProcessHandle::isAlive).map(ProcessHandle::pid).toList();
        log(survivors.isEmpty() ? "the killed worker's executors exited on their own"
                : "the killed worker's executors %s outlived it by 60 s", survivors);
        assertEquals(List.of(), survivors, "executors of the killed worker still alive after 60 s");

        int firstExit = first.await();
        String outcome;
        Submit last = first;
        if (firstExit == 0) {
            outcome = "FINISHED: Spark re-ran the lost executor's work on the remaining worker; no --resume needed";
            assertTrue(first.output().contains("Lost executor"), () -> "driver log names the lost executor:\n" + first.tail());
            // Spark logs a task lost with its worker only at INFO (not counted as a task failure): the
            // surviving executor's log shows the retry.
            TaskAttempt lost = running;
            List<TaskAttempt> retries = ExecutorTasks.of(cluster.executorLogs(0, appId)).finished().stream()
                    .filter(t -> t.isRetryOf(lost)).toList();
            log("%s, in flight on the killed worker, re-ran on worker 0 as %s", lost, retries);
            assertFalse(retries.isEmpty(), () -> lost + " was not re-run on worker 0");
            assertTrue(first.output().contains("not resumed, trained epochs 1-" + epochs), () -> "closing line:\n" + first.tail());
        } else {
            log("TrainJob exited %d after the worker was lost; rerunning with --resume. Its log ends:%n%s", firstExit, first.tail());
            List<String> again = new ArrayList<>(args);
            again.add("--resume");
            Submit second = Submit.start(run + "-resume", "TrainJob", again);
            assertEquals(0, second.await(), () -> "TrainJob --resume failed; its log:\n" + second.tail());
            assertTrue(second.output().contains("Resuming " + run + " after epoch"), () -> "resume line:\n" + second.tail());
            assertTrue(second.output().contains("; resumed after epoch"), () -> "closing line:\n" + second.tail());
            outcome = "RESUMED: the first attempt failed (exit " + firstExit + "), --resume finished from the checkpoint";
            last = second;
        }
        log("worker loss outcome: %s", outcome);
        log("TrainJob's closing line: %s", last.output().lines().filter(l -> l.contains("Run " + run + " complete"))
                .findFirst().orElse("(none)"));

        String runDir = runs + "/" + run;
        Storage storage = new Storage(spark.spark().sparkContext().hadoopConfiguration());
        assertTrue(storage.exists(new org.apache.hadoop.fs.Path(runDir, "_SUCCESS")), "_SUCCESS in " + runDir);
        assertTrue(ModelArtifact.isArtifact(storage, new org.apache.hadoop.fs.Path(runDir, "model")), "model artifact");
        List<Integer> historyEpochs = PipelineRun.read(spark.spark(), runDir + "/history").stream()
                .map(r -> r.<Integer>getAs("epoch")).sorted().toList();
        assertEquals(List.of(1, 2, 3), historyEpochs, "one history row per epoch, none repeated");
        for (Row r : PipelineRun.read(spark.spark(), runDir + "/history")) {
            assertTrue(Double.isFinite(r.<Double>getAs("train_loss")), "finite loss: " + r);
        }
    }

    /** The application ran an executor on each worker, and each executor ran tasks. */
    private static void assertExecutorsOnBothWorkers(String appName) throws Exception {
        String appId = cluster.appId(appName).orElseThrow(() -> new AssertionError("no application " + appName + " at the master"));
        for (int w = 0; w < 2; w++) {
            List<Path> logs = cluster.executorLogs(w, appId);
            assertFalse(logs.isEmpty(), "no executor of " + appId + " under " + cluster.workDir(w));
            boolean ranTasks = false;
            for (Path p : logs) {
                ranTasks |= Files.readString(p, StandardCharsets.UTF_8).contains("Finished task");
            }
            assertTrue(ranTasks, "executor of " + appId + " on worker " + w + " finished tasks: " + logs);
        }
        log("%s (%s): executors on both workers ran tasks", appName, appId);
    }

    /** Fails early instead of letting spark-submit/spark-submit rebuild the jar from inside the test. */
    private static void assertJarIsCurrent() throws IOException {
        assertTrue(Files.isRegularFile(JAR), JAR + " is missing: run `mvn verify` (this test runs after package)");
        long jarTime = Files.getLastModifiedTime(JAR).toMillis();
        List<Path> newer = new ArrayList<>();
        try (var s = Files.walk(ROOT.resolve("src/main"))) {
            s.filter(Files::isRegularFile).filter(p -> p.toFile().lastModified() > jarTime).forEach(newer::add);
        }
        if (ROOT.resolve("pom.xml").toFile().lastModified() > jarTime) {
            newer.add(ROOT.resolve("pom.xml"));
        }
        assertEquals(List.of(), newer, "sources newer than " + JAR + ": run `mvn package` again");
    }

    private static void log(String format, Object... args) {
        System.out.printf("[StandaloneClusterIT] " + format + "%n", args);
        System.out.flush();
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** A task attempt as an executor logs it: "Running task 1.0 in stage 18.0 (TID 31)". */
    private record TaskAttempt(int index, int attempt, int stage, int stageAttempt, int tid) {
        private static final Pattern FORMAT = Pattern.compile("(\\d+)\\.(\\d+) in stage (\\d+)\\.(\\d+) \\(TID (\\d+)\\)");

        static TaskAttempt parse(String text) {
            var m = FORMAT.matcher(text);
            if (!m.find()) {
                return null;
            }
            return new TaskAttempt(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
                    Integer.parseInt(m.group(4)), Integer.parseInt(m.group(5)));
        }

        /**
         * A later attempt of the same task: a retry in the same stage attempt (same index), or a task of a later
         * attempt of the stage. The second is how a lost task that read shuffle output comes back: its first
         * retry fails with a FetchFailed (the map output died with the worker), Spark resubmits the stage for its
         * missing partitions, and a resubmitted stage numbers its tasks from 0 (seen: task 1.0 in stage 19.0,
         * retried as 1.1, which failed to fetch, then finished as 0.0 in stage 19.1). The executor log does not
         * name the partition, so a later stage attempt counts as the retry.
         */
        boolean isRetryOf(TaskAttempt t) {
            return stage == t.stage && tid > t.tid && (stageAttempt > t.stageAttempt || index == t.index);
        }

        @Override
        public String toString() {
            return String.format("task %d.%d in stage %d.%d (TID %d)", index, attempt, stage, stageAttempt, tid);
        }
    }

    /** The task attempts executor logs show started ("Running task") and finished ("Finished task"). */
    private record ExecutorTasks(List<TaskAttempt> started, List<TaskAttempt> finished) {
        static ExecutorTasks of(List<Path> logs) throws IOException {
            List<TaskAttempt> started = new ArrayList<>();
            List<TaskAttempt> finished = new ArrayList<>();
            for (Path p : logs) {
                for (String line : Files.readAllLines(p, StandardCharsets.UTF_8)) {
                    int at = line.indexOf("Running task ");
                    if (at >= 0) {
                        started.add(TaskAttempt.parse(line.substring(at)));
                    }
                    at = line.indexOf("Finished task ");
                    if (at >= 0) {
                        finished.add(TaskAttempt.parse(line.substring(at)));
                    }
                }
            }
            started.removeIf(java.util.Objects::isNull);
            finished.removeIf(java.util.Objects::isNull);
            return new ExecutorTasks(started, finished);
        }

        int maxTid() {
            return started.stream().mapToInt(TaskAttempt::tid).max().orElse(-1);
        }

        /** A task with a higher id than {@code tid} that started and has not finished, or null. */
        TaskAttempt runningAfter(int tid) {
            return started.stream().filter(t -> t.tid() > tid && finished.stream().noneMatch(f -> f.tid() == t.tid()))
                    .findFirst().orElse(null);
        }
    }

    /** One job submitted through spark-submit/spark-submit as its own process, output in a log file. */
    private static final class Submit {
        final String name;
        final Process process;
        final Path logFile;
        final long started = System.nanoTime();

        private Submit(String name, Process process, Path logFile) {
            this.name = name;
            this.process = process;
            this.logFile = logFile;
        }

        static Submit start(String name, String mainClass, List<String> jobArgs) throws IOException {
            String opens = System.getProperty("sparktransfer.test.jvmOpens");
            List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("spark-submit/spark-submit").toString(),
                    "--master", cluster.masterUrl(), "--deploy-mode", "client", "--name", name,
                    "--properties-file", ROOT.resolve("spark-submit/conf/standalone.conf").toString()));
            // The template sized down to this machine: one core and a small heap per executor, both executors
            // registered before the first job, HDFS as the default file system (dl4j-spark's Export needs one).
            String[] conf = {
                    "spark.cores.max=2",
                    "spark.executor.cores=1",
                    "spark.task.cpus=1",
                    "spark.executor.memory=1g",
                    "spark.executor.memoryOverhead=1g",
                    "spark.executorEnv.OMP_NUM_THREADS=1",
                    "spark.executor.extraJavaOptions=" + opens + " -Dorg.eclipse.deeplearning4j.helpers.disable=false"
                            + " -Dorg.bytedeco.javacpp.maxbytes=2G -Dorg.bytedeco.javacpp.maxphysicalbytes=4G",
                    "spark.driver.memory=2g",
                    "spark.driver.maxResultSize=1g",
                    "spark.kryoserializer.buffer.max=256m",
                    "spark.scheduler.minRegisteredResourcesRatio=1.0",
                    "spark.scheduler.maxRegisteredResourcesWaitingTime=120s",
                    "spark.locality.wait=0",
                    "spark.ui.enabled=false",
                    "spark.driver.host=127.0.0.1",
                    "spark.driver.bindAddress=127.0.0.1",
                    "spark.hadoop.fs.defaultFS=" + hdfs.uri(),
            };
            for (String c : conf) {
                cmd.add("--conf");
                cmd.add(c);
            }
            cmd.add("--class");
            cmd.add(mainClass);
            cmd.add(JAR.toString());
            if (mainClass.equals("TrainJob")) {
                cmd.addAll(TINY_TRAINING);
            }
            cmd.addAll(jobArgs);
            Path logFile = BASE.resolve(name + ".log");
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectErrorStream(true)
                    .redirectOutput(logFile.toFile());
            // The launcher's own path: no Spark distribution, Spark from the provided class path.
            pb.environment().remove("SPARK_HOME");
            pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
            pb.environment().put("DRIVER_MEMORY", "2g");
            pb.environment().put("OMP_NUM_THREADS", "1");
            log("%s: %s", name, String.join(" ", cmd.subList(0, 8)) + " ... " + mainClass + " " + String.join(" ", jobArgs));
            return new Submit(name, pb.start(), logFile);
        }

        int await() throws InterruptedException {
            long deadline = started + JOB_TIMEOUT.toNanos();
            while (process.isAlive() && System.nanoTime() < deadline) {
                cluster.trackChildren();
                process.waitFor(1, TimeUnit.SECONDS);
            }
            if (process.isAlive()) {
                kill();
                fail(name + " still running after " + JOB_TIMEOUT + "; log:\n" + tail());
            }
            log("%s exited %d after %.1f s (log %s)", name, process.exitValue(), (System.nanoTime() - started) / 1e9, logFile);
            return process.exitValue();
        }

        void kill() throws InterruptedException {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }

        String output() {
            try {
                return Files.readString(logFile, StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "(cannot read " + logFile + ": " + e + ")";
            }
        }

        String tail() {
            List<String> lines = Arrays.asList(output().split("\n"));
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 80), lines.size()));
        }
    }
}
