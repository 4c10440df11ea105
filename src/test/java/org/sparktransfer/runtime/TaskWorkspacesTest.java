package org.sparktransfer.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.TaskContext;
import org.apache.spark.util.TaskCompletionListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.factory.Nd4j;
import org.sparktransfer.testing.LocalSparkPerClass;

/** A task's workspaces are gone from its thread once the task has ended, on real (local) Spark. */
class TaskWorkspacesTest {
    @RegisterExtension
    static final LocalSparkPerClass SPARK = new LocalSparkPerClass();
    /** Per partition: whether the task's thread still had its workspace after the task's release ran. */
    static final Map<Integer, Boolean> LEFT = new ConcurrentHashMap<>();

    @Test
    void aTaskThatAsksReleasesItsThreadsWorkspacesWhenItEnds() {
        assertEquals(Map.of(0, false, 1, false), workspacesLeftAfterTasks(true));
    }

    @Test
    void withoutItTheWorkspacesStayOnThePooledThread() {
        assertEquals(Map.of(0, true, 1, true), workspacesLeftAfterTasks(false));
    }

    private static Map<Integer, Boolean> workspacesLeftAfterTasks(boolean release) {
        LEFT.clear();
        SPARK.jsc().parallelize(List.of(1, 2), 2).foreachPartition(it -> {
            TaskContext task = TaskContext.get();
            int partition = task.partitionId();
            // Registered first, so Spark runs it last (listeners run in reverse order): after the release.
            task.addTaskCompletionListener((TaskCompletionListener) t ->
                    LEFT.put(partition, Nd4j.getWorkspaceManager().checkIfWorkspaceExists("TASK_WS_TEST")));
            if (release) {
                TaskWorkspaces.releaseAtTaskEnd();
            }
            WorkspaceConfiguration conf = WorkspaceConfiguration.builder().initialSize(1 << 20).build();
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(conf, "TASK_WS_TEST")) {
                Nd4j.create(1000);
            }
        });
        return Map.copyOf(LEFT);
    }
}
