package org.sparktransfer.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparktransfer.inference.ModelCache;
import org.sparktransfer.io.SparkSessions;
import org.sparktransfer.io.Storage;
import org.sparktransfer.testing.JobSession;
import org.sparktransfer.testing.SmallModels;

/** PredictJob's session makes its executors read the model as they start, before any task asks for it. */
class ExecutorWarmupTest {
    @TempDir
    Path tmp;

    @Test
    void executorsReadTheModelBeforeAnyTaskRuns() throws Exception {
        Path run = tmp.resolve("run");
        Storage storage = new Storage(new Configuration());
        // A TrainJob run directory: the artifact is under model/, as --model may name either.
        org.apache.hadoop.fs.Path modelDir = storage.qualify(run.resolve("model").toString());
        SmallModels.saveResNet18(storage, modelDir, "warm", List.of("a", "b"), 5);
        String key = modelDir.toString();

        try (JobSession session = JobSession.start("local[1]", Map.of(),
                () -> SparkSessions.create("ExecutorWarmupTest", Map.of(ExecutorWarmup.MODEL, run.toString())))) {
            SparkSession spark = session.spark();
            assertTrue(spark.sparkContext().getConf().get("spark.plugins").contains(ExecutorWarmup.class.getName()));
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (!ModelCache.isLoaded(key) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(ModelCache.isLoaded(key), "the executor read " + key + " without a task asking for it");
            while (!ExecutorWarmup.rowConversionReady() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(ExecutorWarmup.rowConversionReady(), "the executor readied the row conversion on its own thread");
            assertEquals(0, spark.sparkContext().statusTracker().getJobIdsForGroup(null).length, "no job ran");
            int loads = ModelCache.loadedModels();
            ComputationGraph first = ModelCache.borrow(key, new Configuration());
            ComputationGraph again = ModelCache.borrow(key, new Configuration());
            assertEquals(loads, ModelCache.loadedModels(), "tasks borrow the model read ahead; nothing is read twice");
            assertFalse(first == again, "concurrent tasks get their own copies");
            ModelCache.giveBack(key, first);
            assertSame(first, ModelCache.borrow(key, new Configuration()), "the copy made ahead is reused");
        }
    }

    @Test
    void theRowConversionWarmUpConvertsAListedRowAsATaskReadsIt() {
        org.apache.spark.sql.Row row = RowConversionWarmup.sampleListedRow();
        org.apache.spark.sql.Row back = RowConversionWarmup.roundTrip(row);
        assertEquals(org.sparktransfer.data.ImageColumns.LISTED, back.schema());
        assertEquals(row, back, "every field, the bytes and the null read error included, survives the round trip");
    }

    @Test
    void aMissingModelIsLeftToTheFirstTaskToReport() {
        String missing = tmp.resolve("no-model").toString();
        ExecutorWarmup.warmUp(1, missing, new Storage(new Configuration()));
        assertFalse(ModelCache.isLoaded(new Storage(new Configuration()).qualify(missing).toString()));
    }

    @Test
    void aUsersOwnPluginsStay() {
        try (JobSession session = JobSession.start("local[1]", Map.of("spark.plugins", NoOpPlugin.class.getName()),
                () -> SparkSessions.create("ExecutorWarmupTest"))) {
            assertEquals(NoOpPlugin.class.getName() + "," + ExecutorWarmup.class.getName(),
                    session.spark().sparkContext().getConf().get("spark.plugins"));
        }
    }

    /** A plugin of the user's. */
    public static final class NoOpPlugin implements org.apache.spark.api.plugin.SparkPlugin {
        @Override
        public org.apache.spark.api.plugin.DriverPlugin driverPlugin() {
            return null;
        }

        @Override
        public org.apache.spark.api.plugin.ExecutorPlugin executorPlugin() {
            return null;
        }
    }
}
