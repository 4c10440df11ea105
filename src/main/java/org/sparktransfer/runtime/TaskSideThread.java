package org.sparktransfer.runtime;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Runs a Spark task's native work on a thread of its own that ends with it, fed the task's elements by the task
 * thread (Spark's iterators read through the task thread's {@code TaskContext}).
 *
 * <p>Why: libgomp keeps an OpenMP pool for every thread that ran a parallel region until that thread ends, and
 * with more pooled threads than CPUs it throttles every pool's barrier spinning (see
 * {@link NativeRuntime#serialOnThisThread}). Spark's task threads live on, so a task that runs a network between
 * training rounds (validation) would leave a pool that slows the trainer thread for the rest of the job.
 */
public final class TaskSideThread {
    private static final Object END = new Object();

    private TaskSideThread() {}

    /**
     * Runs {@code work} over {@code source}'s elements on a new thread named {@code name} with the task's cores
     * ({@link NativeRuntime#configureForTask}), releases that thread's workspaces and returns once it has ended.
     * The work's exceptions are rethrown here; an interrupt (a killed task) interrupts the work too.
     */
    public static <E, R> R consume(String name, Iterator<E> source, Function<Iterator<E>, R> work) {
        BlockingQueue<Object> queue = new ArrayBlockingQueue<>(2);
        FutureTask<R> result = new FutureTask<>(() -> {
            NativeRuntime.configureForTask();
            try {
                return work.apply(new QueueIterator<>(queue));
            } finally {
                TaskWorkspaces.release();
            }
        });
        Thread thread = new Thread(result, name);
        thread.setDaemon(true);
        thread.start();
        try {
            boolean fed = false;
            try {
                while (source.hasNext() && offer(queue, source.next(), result)) {
                    // handed over
                }
                offer(queue, END, result);
                fed = true;
            } finally {
                if (!fed) {
                    thread.interrupt(); // the source failed: the work would wait for elements forever
                }
                thread.join(); // its OpenMP pool ends with it (as the native thread exits, moments after)
            }
            return result.get();
        } catch (InterruptedException e) {
            thread.interrupt();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while " + name + " ran", e);
        } catch (ExecutionException e) {
            throw WorkFailures.unchecked(e);
        }
    }

    /** Puts {@code e} on the queue unless the work has already finished (returned early or failed). */
    private static boolean offer(BlockingQueue<Object> queue, Object e, FutureTask<?> work) throws InterruptedException {
        while (!queue.offer(e, 50, TimeUnit.MILLISECONDS)) {
            if (work.isDone()) {
                return false;
            }
        }
        return true;
    }

    private static final class QueueIterator<E> implements Iterator<E> {
        private final BlockingQueue<Object> queue;
        private Object next;

        QueueIterator(BlockingQueue<Object> queue) {
            this.queue = queue;
        }

        @Override
        public boolean hasNext() {
            if (next == null) {
                try {
                    next = queue.take();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for the task's next element", e);
                }
            }
            return next != END;
        }

        @Override
        @SuppressWarnings("unchecked")
        public E next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            E e = (E) next;
            next = null;
            return e;
        }
    }
}
