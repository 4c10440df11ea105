package org.sparktransfer.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The default worker count is the number of training tasks Spark runs at once, not its core count. */
class WorkerCountTest {
    @Test
    void oneWorkerPerTaskSlot() {
        assertEquals(1, TrainingLoop.concurrentTasks(2, 2), "local[2] with spark.task.cpus=2: one 2-thread worker");
        assertEquals(4, TrainingLoop.concurrentTasks(32, 8), "4 executors x 8 cores, spark.task.cpus=8");
        assertEquals(8, TrainingLoop.concurrentTasks(8, 1), "one core per task");
        assertEquals(1, TrainingLoop.concurrentTasks(2, 4), "never fewer than one worker");
    }
}
