package org.sparktransfer.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.sparktransfer.runtime.NativeRuntime;
import org.sparktransfer.testing.JobSession;

/**
 * The session a job creates: required settings forced, executor malloc environment filled in, user settings kept,
 * large task results returned directly.
 */
class SparkSessionsTest {

    /**
     * A 16 MB task result (a parameter-averaging round returns 90-205 MB) travels with the task's status, not
     * through a second fetch from the block manager: Spark marks a fetched result with its getting-result time.
     */
    private static void assertResultsComeBackDirectly(SparkSession spark) throws InterruptedException {
        AtomicLong gettingResultTime = new AtomicLong(-1);
        CountDownLatch ended = new CountDownLatch(1);
        spark.sparkContext().addSparkListener(new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd e) {
                gettingResultTime.set(e.taskInfo().gettingResultTime());
                ended.countDown();
            }
        });
        List<byte[]> result = JavaSparkContext.fromSparkContext(spark.sparkContext())
                .parallelize(List.of(16 << 20), 1).map(n -> new byte[n]).collect();
        assertEquals(16 << 20, result.get(0).length);
        assertTrue(ended.await(30, TimeUnit.SECONDS), "task end event");
        assertEquals(0, gettingResultTime.get(), "result fetched from the block manager instead of sent directly");
    }

    @Test
    void executorsGetTheMallocSettingsUnlessTheUserSetOwn() throws InterruptedException {
        try (JobSession session = JobSession.start("local[1]", Map.of("spark.executorEnv.MALLOC_ARENA_MAX", "4"),
                () -> SparkSessions.create("SparkSessionsTest"))) {
            SparkSession spark = session.spark();
            SparkConf conf = spark.sparkContext().getConf();
            assertEquals("4", conf.get("spark.executorEnv.MALLOC_ARENA_MAX"), "the user's value wins");
            NativeRuntime.MALLOC_ENV.forEach((k, v) -> {
                if (!k.equals("MALLOC_ARENA_MAX")) {
                    assertEquals(v, conf.get("spark.executorEnv." + k), k);
                }
            });
            assertEquals("false", conf.get("spark.cleaner.referenceTracking"));
            assertResultsComeBackDirectly(spark);
        }
    }

    /** TrainJob's default workers and PredictJob's scoring partitions: tasks that run at once, not cores. */
    @Test
    void taskSlotsAreCoresOverTaskCpus() {
        try (JobSession session = JobSession.start("local[4]", Map.of("spark.task.cpus", "2"),
                () -> SparkSessions.create("SparkSessionsTest"))) {
            assertEquals(2, SparkSessions.taskSlots(session.spark().sparkContext()), "local[4], spark.task.cpus=2");
        }
        assertEquals(1, SparkSessions.taskSlots(2, 2), "local[2] with spark.task.cpus=2: one 2-thread worker");
        assertEquals(4, SparkSessions.taskSlots(32, 8), "4 executors x 8 cores, spark.task.cpus=8");
        assertEquals(8, SparkSessions.taskSlots(8, 1), "one core per task");
        assertEquals(1, SparkSessions.taskSlots(2, 4), "never fewer than one");
    }
}
