package org.sparktransfer.train;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.sparktransfer.runtime.NativeRuntime;
import org.sparktransfer.runtime.TaskWorkspaces;
import org.sparktransfer.runtime.WorkFailures;

/**
 * The one thread a kept worker network is trained on.
 *
 * <p>A network's activations live in ND4J workspaces that belong to the thread that ran it (172 MiB for a
 * ResNet-18 step at 112 px, batch 32), and Spark runs each round's task on whichever of its pooled threads is
 * free: trained on the task threads, the same network left a set of workspaces on every thread it had run on
 * (measured: rounds alternating between two threads), and releasing them after each task would make every round
 * size them again. Running the network's steps on its own thread keeps one set, reused round after round.
 * The thread ends after {@link #IDLE_SECONDS} without work (a network whose lease was abandoned by a killed
 * task, or a long pause between epochs) and releases its workspaces as it ends; the next step starts another.
 */
final class TrainerThread {
    static final long IDLE_SECONDS = 300;
    /** System property; {@code false} trains on the task threads (for comparisons). Read at every step. */
    static final String PROPERTY = "sparktransfer.trainerThread";
    private static final AtomicInteger IDS = new AtomicInteger();
    private final ThreadPoolExecutor executor;
    private volatile Thread thread;

    static boolean enabled() {
        return !"false".equalsIgnoreCase(System.getProperty(PROPERTY));
    }

    TrainerThread() {
        this(IDLE_SECONDS, TimeUnit.SECONDS);
    }

    TrainerThread(long idle, TimeUnit unit) {
        String name = "sparktransfer-trainer-" + IDS.incrementAndGet();
        executor = new ThreadPoolExecutor(1, 1, idle, unit, new LinkedBlockingQueue<>(), work -> {
            Thread t = new Thread(() -> {
                thread = Thread.currentThread();
                // The training steps use the task's cores; the task thread that hands them over runs serial
                // (see NativeRuntime.serialOnThisThread).
                NativeRuntime.openMpThreadsOnThisThread(NativeRuntime.taskCpus());
                try {
                    work.run();
                } finally {
                    TaskWorkspaces.release();
                }
            }, name);
            t.setDaemon(true);
            return t;
        });
        executor.allowCoreThreadTimeOut(true);
    }

    /**
     * Runs {@code work} on this network's thread and waits for it; its exceptions are rethrown here. Called on
     * that thread itself (a step that calls another overload), it runs {@code work} directly.
     */
    <T> T call(Callable<T> work) {
        if (Thread.currentThread() == thread) {
            try {
                return work.call();
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        try {
            return executor.submit(work).get();
        } catch (InterruptedException e) {
            // The task was killed; the step in progress finishes on its own and the network is not returned.
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a training step", e);
        } catch (ExecutionException e) {
            throw WorkFailures.unchecked(e);
        }
    }

    /** Lets the thread end (after its queued work); for networks that are dropped. */
    void shutdown() {
        executor.shutdown();
    }
}
