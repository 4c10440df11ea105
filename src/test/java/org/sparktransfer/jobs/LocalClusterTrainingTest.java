package org.sparktransfer.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Row;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.FrozenLayer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparktransfer.io.ModelArtifact;
import org.sparktransfer.io.Storage;
import org.sparktransfer.testing.LocalSpark;
import org.sparktransfer.testing.SmallModels;
import org.sparktransfer.testing.TestImages;

/**
 * Real multi-executor training: TrainJob on {@code local-cluster[2,1,1536]}, a standalone master
 * and worker in this JVM launching two executor JVMs, with dl4j-spark's Direct approach (Export
 * refuses a non-local master on a local default file system). It starts from a saved model
 * artifact, so the exact starting parameters are known, and checks that both executors ran fit
 * tasks, that the averaged parameters came back to the driver (trainable layers moved) and that the
 * layers frozen by {@code --freeze layer2} are bit-for-bit what they were.
 */
class LocalClusterTrainingTest {
    private static final List<String> CLASSES = List.of("blue", "green", "red");

    @TempDir
    static Path tmp;
    private static LocalSpark spark;
    private static final TaskRecorder tasks = new TaskRecorder();

    @BeforeAll
    static void start() {
        spark = LocalSpark.builder().appName("LocalClusterTrainingTest")
                .localCluster(2, 1, 1536)
                // Run each task on whichever executor is free, not wait for the one holding its cached rows.
                .conf("spark.locality.wait", "0")
                .start();
        spark.spark().sparkContext().addSparkListener(tasks);
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.close();
        }
    }

    @Test
    void parameterAveragingOverTwoExecutorJvmsKeepsFrozenLayers() throws Exception {
        var sc = spark.spark().sparkContext();
        sc.listenerBus().waitUntilEmpty();
        Set<String> executors = new TreeSet<>();
        scala.collection.Iterator<org.apache.spark.status.api.v1.ExecutorSummary> all = sc.statusStore().executorList(true).iterator();
        while (all.hasNext()) {
            var e = all.next();
            if (!"driver".equals(e.id())) {
                executors.add(e.id() + "@" + e.hostPort());
            }
        }
        assertEquals(2, executors.size(), "two executor JVMs registered: " + executors);

        TestImages.Folder images = TestImages.folder().classes("red", "green", "blue").perClass(6)
                .writeTo(tmp.resolve("images"));
        Storage storage = new Storage(sc.hadoopConfiguration());
        org.apache.hadoop.fs.Path weights = new org.apache.hadoop.fs.Path(tmp.resolve("initial").toUri());
        SmallModels.saveResNet18(storage, weights, "initial", CLASSES, 1234);
        Map<String, float[]> before = paramsByLayer(ModelArtifact.load(storage, weights, false).network());

        String runs = tmp.resolve("runs").toUri().toString();
        long t0 = System.nanoTime();
        // As fast as it can be while still averaging over both JVMs: 18 images, no validation split, batches
        // of 9 averaged every minibatch, so the epoch is exactly one averaging round of one 9-image minibatch
        // per worker (dl4j-spark packs workers x batch x frequency examples per round).
        PipelineRun.train("--arch", "resnet18", "--image-size", "32", "--resize-size", "36", "--epochs", "1",
                "--images", images.root(), "--output", runs, "--run-name", "cluster", "--val-fraction", "0",
                "--weights", weights.toString(), "--freeze", "layer2", "--rdd-approach", "DIRECT",
                "--workers", "2", "--batch-size", "9", "--averaging-frequency", "1");
        System.out.printf("local-cluster TrainJob: %.1f s%n", (System.nanoTime() - t0) / 1e9);
        sc.listenerBus().waitUntilEmpty();

        // Both executor JVMs fitted minibatches: the fit stages (dl4j-spark's worker map, then treeAggregate
        // of the results) ran tasks on each, and tasks that read records (minibatches) ran on each.
        Map<String, Set<String>> fitExecutors = tasks.executorsOfStagesNamed("epoch 1/1: train",
                "treeAggregate at ParameterAveragingTrainingMaster", false);
        Map<String, Set<String>> fitWithData = tasks.executorsOfStagesNamed("epoch 1/1: train",
                "treeAggregate at ParameterAveragingTrainingMaster", true);
        assertFalse(fitExecutors.isEmpty(), "no fit stage recorded; stages of the train job: " + tasks.describe());
        Set<String> ranFit = new TreeSet<>();
        fitWithData.values().forEach(ranFit::addAll);
        assertEquals(Set.of("0", "1"), ranFit, "executors that fitted minibatches, by fit stage: " + fitWithData
                + "; all train stages: " + tasks.describe());

        String runDir = runs.endsWith("/") ? runs + "cluster" : runs + "/cluster";
        List<Row> history = PipelineRun.read(spark.spark(), runDir + "/history");
        assertEquals(1, history.size());
        assertTrue(Double.isFinite(history.get(0).<Double>getAs("train_loss")));

        ComputationGraph trained = ModelArtifact.load(storage, new org.apache.hadoop.fs.Path(runDir, "model"), false).network();
        Map<String, float[]> after = paramsByLayer(trained);
        assertEquals(before.keySet(), after.keySet(), "same layers with parameters");
        List<String> frozen = new ArrayList<>();
        List<String> moved = new ArrayList<>();
        for (String name : before.keySet()) {
            boolean isFrozen = trained.getLayer(name) instanceof FrozenLayer;
            boolean frozenByPolicy = name.equals("conv1") || name.equals("bn1") || name.startsWith("layer1.") || name.startsWith("layer2.");
            assertEquals(frozenByPolicy, isFrozen, name + " frozen as --freeze layer2 says");
            if (isFrozen) {
                frozen.add(name);
                // Arrays.equals on float[] compares bit patterns (floatToIntBits): bit for bit.
                assertArrayEquals(before.get(name), after.get(name), name + " is frozen but changed");
            } else if (!Arrays.equals(before.get(name), after.get(name))) {
                moved.add(name);
            }
        }
        assertTrue(frozen.contains("conv1") && frozen.contains("layer2.1.conv2"), "frozen layers: " + frozen);
        assertTrue(moved.contains("fc"), "the head was trained (averaged parameters came back): moved " + moved);
        assertTrue(moved.stream().anyMatch(n -> n.startsWith("layer4.")), "layer4 was trained: moved " + moved);
    }

    private static Map<String, float[]> paramsByLayer(ComputationGraph g) {
        Map<String, float[]> m = new LinkedHashMap<>();
        for (Layer l : g.getLayers()) {
            if (l.numParams() > 0) {
                m.put(l.conf().getLayer().getLayerName(), l.params().dup().toFloatVector());
            }
        }
        return m;
    }

    /** Which executor ran each task, by stage, with the stage names and job descriptions. */
    static final class TaskRecorder extends SparkListener {
        private final Map<Integer, String> stageNames = new ConcurrentHashMap<>();
        private final Map<Integer, String> stageJobs = new ConcurrentHashMap<>();
        private final List<String[]> ends = new CopyOnWriteArrayList<>();

        @Override
        public void onJobStart(SparkListenerJobStart job) {
            String description = job.properties() == null ? null : job.properties().getProperty("spark.job.description");
            scala.collection.Iterator<org.apache.spark.scheduler.StageInfo> it = job.stageInfos().iterator();
            while (it.hasNext()) {
                var s = it.next();
                stageNames.put(s.stageId(), s.name());
                stageJobs.put(s.stageId(), String.valueOf(description));
            }
        }

        @Override
        public void onTaskEnd(SparkListenerTaskEnd end) {
            if (end.taskInfo().successful() && end.taskMetrics() != null) {
                long records = end.taskMetrics().shuffleReadMetrics().recordsRead()
                        + end.taskMetrics().inputMetrics().recordsRead();
                ends.add(new String[] {String.valueOf(end.stageId()), end.taskInfo().executorId(), String.valueOf(records)});
            }
        }

        /**
         * Executors per stage, for stages of jobs whose description starts with a prefix and whose name
         * contains a text; optionally only tasks that read records (shuffle or input).
         */
        Map<String, Set<String>> executorsOfStagesNamed(String jobPrefix, String nameContains, boolean withRecordsOnly) {
            Map<String, Set<String>> m = new LinkedHashMap<>();
            for (String[] e : ends) {
                int stage = Integer.parseInt(e[0]);
                String job = stageJobs.getOrDefault(stage, "");
                String name = stageNames.getOrDefault(stage, "");
                if (job.startsWith(jobPrefix) && name.contains(nameContains) && (!withRecordsOnly || Long.parseLong(e[2]) > 0)) {
                    m.computeIfAbsent(stage + " " + name, k -> new TreeSet<>()).add(e[1]);
                }
            }
            return m;
        }

        String describe() {
            Map<String, Set<String>> m = new LinkedHashMap<>();
            for (String[] e : ends) {
                int stage = Integer.parseInt(e[0]);
                m.computeIfAbsent(stage + " [" + stageJobs.get(stage) + "] " + stageNames.get(stage), k -> new TreeSet<>())
                        .add("executor " + e[1] + " read " + e[2]);
            }
            return m.toString();
        }
    }
}
