package org.sparktransfer.runtime;

import java.lang.ref.WeakReference;
import java.lang.reflect.Method;
import java.util.concurrent.atomic.AtomicLong;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.spark.api.TrainingHook;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Frees the native memory of finished averaging rounds before the next round allocates its own.
 *
 * <p>ND4J (1.0.0-M2.x, CPU) allocates every array outside a workspace with libnd4j's allocator and frees
 * it only when the garbage collector has found the array's Java owner unreachable (its
 * {@code DeallocatorService} then frees the native buffer). Nothing pushes back on the collector: JavaCPP's
 * {@code org.bytedeco.javacpp.maxbytes} counts only memory that JavaCPP allocates itself, not libnd4j's
 * arrays. dl4j-spark builds a new network for every averaging round on every worker (a copy of the
 * parameters, of the updater state, its gradients) and the driver deserializes and sums every worker's
 * result, so each round leaves a network's worth of unreachable arrays behind. Their Java owners are small
 * and live long enough to be promoted to the old generation, which a mostly idle heap collects rarely:
 * the native garbage of many rounds piles up, and the peak RSS of a run grows with the number of rounds
 * it happens to reach before the next old-generation collection (measured at 112 px: libnd4j's array bytes
 * at epoch starts 213 -> 469 MiB over 10 epochs, peak RSS 1.56x a 2-epoch run's; with this class flat at 256 MiB).
 *
 * <p>{@link #install} adds a {@link TrainingHook} to a training master: on each worker, before the first
 * minibatch of every round (the first time the hook sees that round's network), it runs a full
 * collection, so the previous round's arrays (and, in local mode, the driver's) are freed before the new
 * round's activations are allocated; {@link #collect()} does the same on the driver after a fit. A full
 * collection of an executor's heap takes tens to hundreds of milliseconds; a round is several minibatches
 * (seconds to minutes), so the price is small. After the collection it returns glibc's free pages to the
 * system ({@link #trimMalloc}): the live arrays were flat round after round once collected, but the process
 * kept growing for several epochs from allocator fragments under the no-trim malloc settings.
 * {@code -Dsparktransfer.roundGc=false} on the driver turns both off (for comparisons).
 */
public final class RoundMemory {
    private static final Logger LOG = LoggerFactory.getLogger(RoundMemory.class);
    /** System property; {@code false} turns the per-round collections off. Read on the driver. */
    public static final String ENABLED_PROPERTY = "sparktransfer.roundGc";
    private static final AtomicLong COLLECTIONS = new AtomicLong();
    private static final AtomicLong COLLECTION_NANOS = new AtomicLong();

    private RoundMemory() {}

    public static boolean enabled() {
        return !"false".equalsIgnoreCase(System.getProperty(ENABLED_PROPERTY));
    }

    /** Adds the round-start hook to {@code master} (unless turned off); returns it. */
    public static ParameterAveragingTrainingMaster install(ParameterAveragingTrainingMaster master) {
        if (enabled()) {
            master.addHook(new RoundStartHook());
        }
        return master;
    }

    /**
     * A full garbage collection, so that ND4J frees the native buffers of unreachable arrays (freed by
     * ND4J's deallocator threads right after the collection).
     */
    public static void collect() {
        long t0 = System.nanoTime();
        System.gc();
        awaitDeallocation();
        trimMalloc();
        COLLECTIONS.incrementAndGet();
        COLLECTION_NANOS.addAndGet(System.nanoTime() - t0);
    }

    /** ND4J frees collected arrays on its own deallocator threads: wait (at most 2 s) until its count stops falling. */
    private static void awaitDeallocation() {
        long deadline = System.nanoTime() + 2_000_000_000L;
        long last = arrayBytes();
        if (last < 0) {
            return;
        }
        try {
            while (System.nanoTime() < deadline) {
                Thread.sleep(10);
                long now = arrayBytes();
                if (now >= last) {
                    return;
                }
                last = now;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Returns glibc's free heap pages to the system ({@code malloc_trim(0)}). The malloc settings of
     * {@link NativeRuntime#MALLOC_ENV} never trim on their own, so that a round's many same-sized native
     * temporaries reuse the same pages; trimming once per round, after the previous round's arrays are freed,
     * keeps that reuse within a round but stops fragments of earlier rounds from raising the process's
     * footprint round after round. A no-op where there is no glibc.
     */
    static boolean trimMalloc() {
        try {
            return com.sun.jna.NativeLibrary.getInstance("c").getFunction("malloc_trim").invokeInt(new Object[] {0}) == 1;
        } catch (Throwable t) { // no glibc (musl, macOS, Windows) or no JNA: nothing to trim
            return false;
        }
    }

    /** How many collections {@link #collect()} has run in this JVM. */
    public static long collections() {
        return COLLECTIONS.get();
    }

    /** Collections {@link #collect()} ran in this JVM, and their total seconds. */
    public static String collectionStats() {
        return String.format(java.util.Locale.ROOT, "%d collections, %.2f s", COLLECTIONS.get(), COLLECTION_NANOS.get() / 1e9);
    }

    /**
     * Bytes libnd4j holds for arrays outside workspaces in this JVM (its host memory counter), or -1 where
     * the backend does not tell (not the CPU backend). Freed-but-retained allocator memory is not in it.
     */
    public static long arrayBytes() {
        try {
            Class<?> env = Class.forName("org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment");
            Object instance = env.getMethod("getInstance").invoke(null);
            Method counter = env.getMethod("getGroupCounter", int.class);
            return (Long) counter.invoke(instance, 0);
        } catch (ReflectiveOperationException | LinkageError e) {
            return -1;
        }
    }

    /** Runs {@link #collect()} on a worker before the first minibatch of each round's network. */
    static final class RoundStartHook implements TrainingHook {
        private static final long serialVersionUID = 1L;
        private transient WeakReference<Model> current;

        private void before(Model model) {
            if (current == null || current.get() != model) {
                current = new WeakReference<>(model);
                collect();
                LOG.debug("round start: full GC, libnd4j array bytes now {} ({})", arrayBytes(), collectionStats());
            }
        }

        @Override
        public void preUpdate(DataSet minibatch, Model model) {
            before(model);
        }

        @Override
        public void postUpdate(DataSet minibatch, Model model) {
        }

        @Override
        public void preUpdate(MultiDataSet minibatch, Model model) {
            before(model);
        }

        @Override
        public void postUpdate(MultiDataSet minibatch, Model model) {
        }
    }
}
