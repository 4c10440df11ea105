package org.sparktransfer.runtime;

import org.apache.spark.TaskContext;
import org.apache.spark.util.TaskCompletionListener;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Scopes ND4J's workspaces to the Spark task that used a network, instead of to the thread that ran it.
 *
 * <p>A DL4J network keeps its activations in ND4J workspaces, which belong to the calling thread and stay
 * allocated after the call (ResNet-18 at 112 px, batch 32: 172 MiB for a training step, ~60 MiB more for
 * inference). An executor runs each task on whichever thread of its task pool is free, so every pool thread
 * that ever trained or scored kept its own set: measured in local mode, rounds alternated between two task
 * threads, each holding 172-235 MiB, and the process grew over epochs as threads collected training and
 * inference workspaces. Tasks that score (validation, feature extraction, PredictJob) release the thread's
 * workspaces when they end, so that memory is bounded by the tasks running at once, not by the threads the
 * pool has made; the next task sizes them again in its first batch, one batch's allocations against a
 * partition of many. Training rounds keep theirs instead, on the network's own thread ({@code TrainerThread}).
 */
public final class TaskWorkspaces {
    private TaskWorkspaces() {}

    /**
     * Releases the calling thread's workspaces when the current task ends (also when it fails or is killed);
     * call it once per task where a network is used. Off a task (the driver, a test), it does nothing.
     */
    public static void releaseAtTaskEnd() {
        TaskContext task = TaskContext.get();
        if (task != null) {
            // Completion listeners run on the task's own thread, the thread whose workspaces these are.
            task.addTaskCompletionListener((TaskCompletionListener) t -> release());
        }
    }

    /** Destroys the calling thread's workspaces (none may be open), returning their memory. */
    public static void release() {
        Nd4j.getWorkspaceManager().destroyAllWorkspacesForCurrentThread();
    }
}
