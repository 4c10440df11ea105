package org.sparktransfer.runtime;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts ND4J/DL4J into their fast configuration in the JVM that calls it (driver or executor):
 * DL4J's layer helpers on (oneDNN on CPU; off by default in M2.x) and ND4J's thread pools sized to
 * the cores this JVM may use, not the machine's. Idempotent and cheap after the first call.
 */
public final class NativeRuntime {
    private static final Logger LOG = LoggerFactory.getLogger(NativeRuntime.class);
    /** DL4J reads this property each time it creates a layer helper; "true" is its default. */
    public static final String HELPERS_DISABLE = "org.eclipse.deeplearning4j.helpers.disable";
    private static final AtomicBoolean CONFIGURED = new AtomicBoolean();

    /**
     * glibc malloc settings for JVMs that run ND4J. libnd4j creates a oneDNN primitive per op call and
     * frees it after, so oneDNN's scratchpad (and libnd4j's reorder buffers) are allocated and freed tens of
     * times per training step; above glibc's mmap threshold each allocation is a fresh mmap whose pages the
     * kernel faults in and zeroes again (measured: ~100k page faults, ~400 MB, per ResNet-18 step at
     * 112 px, ~20% of the CPU samples in the kernel). Serving everything from one heap that is never
     * trimmed turns that into reuse (10x fewer page faults). Environment variables, so they must be set
     * before the JVM starts: the launcher exports them, {@link #executorEnvironment()} passes them to
     * executors.
     */
    public static final Map<String, String> MALLOC_ENV = Map.of(
            "MALLOC_ARENA_MAX", "1",
            "MALLOC_MMAP_MAX_", "0",
            "MALLOC_TRIM_THRESHOLD_", "17179869184",
            "MALLOC_TOP_PAD_", "268435456");

    private NativeRuntime() {}

    /** Spark settings {@code spark.executorEnv.*} for {@link #MALLOC_ENV}. */
    public static Map<String, String> executorEnvironment() {
        Map<String, String> conf = new LinkedHashMap<>();
        MALLOC_ENV.forEach((k, v) -> conf.put("spark.executorEnv." + k, v));
        return conf;
    }

    /**
     * Inside a Spark task that runs the network (scoring, validation, feature extraction): ND4J threads =
     * spark.task.cpus, so that the tasks an executor runs at once share its cores instead of each starting a
     * pool the size of the machine, and as many OpenMP threads for this thread's native work (Spark reuses task
     * threads, and one may have been made {@link #serialOnThisThread serial} by a light task before). Give deep
     * learning executors spark.task.cpus = spark.executor.cores to run one multi-threaded worker.
     */
    public static void configureForTask() {
        int cpus = taskCpus();
        configure(cpus);
        openMpThreadsOnThisThread(cpus);
    }

    /**
     * The calling thread's native work runs on one thread from now on: for threads that only do light ND4J work
     * (the driver's averaging and bookkeeping, a task setting a network's parameters) beside a thread that trains.
     *
     * <p>Why: libgomp keeps a pool of worker threads for every thread that ever opened a parallel region (oneDNN's
     * primitives and libnd4j's ops on large arrays do), for as long as that thread lives, and while it manages more
     * threads than the process has CPUs it spins only 100 times at a barrier before sleeping in the kernel
     * (GOMP_SPINCOUNT's documented throttling; OMP_WAIT_POLICY cannot lift it). In TrainJob's JVM the driver's
     * thread and Spark's task threads each opened one, so the trainer's OpenMP threads slept and woke at every
     * one of the thousands of barriers in a step: 14% slower in a harness (ResNet-18, 112 px, batch 16: 42.7
     * against 49.4 img/s with two idle pools beside it, six measurements each from two JVMs). A region opened with one thread creates
     * no pool.
     */
    public static void serialOnThisThread() {
        openMpThreadsOnThisThread(1);
    }

    /** OpenMP threads for parallel regions the calling thread opens (libgomp's per-thread nthreads-var ICV). */
    public static void openMpThreadsOnThisThread(int threads) {
        NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(Math.max(1, threads));
    }

    /** The cores a Spark task owns (spark.task.cpus), or the machine's outside Spark. */
    public static int taskCpus() {
        org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
        return env == null ? Runtime.getRuntime().availableProcessors() : env.conf().getInt("spark.task.cpus", 1);
    }

    /** @param threads the cores this JVM's tasks may use together (executor cores, or local[N]) */
    public static void configure(int threads) {
        if (System.getProperty(HELPERS_DISABLE) == null) {
            System.setProperty(HELPERS_DISABLE, "false");
        }
        if (!CONFIGURED.compareAndSet(false, true)) {
            return;
        }
        int t = Math.max(1, threads);
        var env = Nd4j.getEnvironment();
        env.setMaxThreads(t);
        env.setMaxMasterThreads(t);
        if (System.getenv("MALLOC_ARENA_MAX") == null) {
            LOG.info("ND4J: this JVM runs without the malloc settings of NativeRuntime.MALLOC_ENV (set them in its"
                    + " environment to avoid page-fault churn from native temporaries)");
        }
        LOG.info("ND4J: backend {}, {} threads, DL4J layer helpers {}", Nd4j.getExecutioner().getEnvironmentInformation()
                .getProperty("backend"), t, System.getProperty(HELPERS_DISABLE).equals("false") ? "on" : "off");
    }
}
