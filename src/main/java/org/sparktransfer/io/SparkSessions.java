package org.sparktransfer.io;

import java.util.Arrays;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.SparkSession;
import org.sparktransfer.runtime.ExecutorWarmup;
import org.sparktransfer.runtime.NativeRuntime;

/**
 * Creates the SparkSession of a job with the settings dl4j-spark needs on Spark 3.5. Settings a
 * user passed with {@code --conf} win; the defaults below only fill gaps.
 */
public final class SparkSessions {
    private SparkSessions() {}

    /** Required, not tunable: Spark's cleaner would close() the INDArray DL4J broadcasts. */
    static final Map<String, String> REQUIRED = Map.of(
            "spark.cleaner.referenceTracking", "false");

    static final Map<String, String> DEFAULTS = Map.of(
            "spark.serializer", "org.apache.spark.serializer.KryoSerializer",
            "spark.kryo.registrator", Nd4jKryoRegistrator.class.getName(),
            "spark.sql.sources.partitionOverwriteMode", "dynamic",
            "spark.sql.parquet.compression.codec", "snappy",
            "spark.ui.showConsoleProgress", "false",
            // A parameter-averaging task returns the network's parameters and updater state (90 MB for ResNet-18,
            // 205 MB for ResNet-50). Above maxDirectResultSize (1 MB by default) Spark parks a result in the
            // executor's block manager and the driver fetches it in a second transfer: measured 0.45 s per round
            // for ResNet-18 in local mode. Sent directly, it rides the task's status message, whose limit must
            // allow it (the effective direct limit is the smaller of the two).
            "spark.task.maxDirectResultSize", "512m",
            "spark.rpc.message.maxSize", "512");

    /**
     * A session and whether the caller owns it: a job started by spark-submit creates (and stops)
     * its own; a job called inside a running application (tests, notebooks) borrows the active one.
     */
    public record Handle(SparkSession spark, boolean owned) implements AutoCloseable {
        @Override
        public void close() {
            if (owned) {
                spark.stop();
            }
        }
    }

    public static Handle open(String appName) {
        return open(appName, Map.of());
    }

    /**
     * @param executorConf settings for the session's executors (e.g. {@link ExecutorWarmup#MODEL}); applied only
     *        when this call creates the session, like every default here
     */
    public static Handle open(String appName, Map<String, String> executorConf) {
        scala.Option<SparkSession> active = SparkSession.getActiveSession();
        if (active.isEmpty()) {
            active = SparkSession.getDefaultSession();
        }
        if (active.isDefined()) {
            for (var e : REQUIRED.entrySet()) {
                String v = active.get().sparkContext().getConf().get(e.getKey(), null);
                if (!e.getValue().equals(v)) {
                    throw new IllegalStateException("the running SparkSession must be created with " + e.getKey() + "=" + e.getValue());
                }
            }
            return new Handle(active.get(), false);
        }
        return new Handle(create(appName, executorConf), true);
    }

    public static SparkSession create(String appName) {
        return create(appName, Map.of());
    }

    /**
     * Tasks the application runs at once: its cores (Spark's default parallelism) over the cores each task takes
     * ({@code spark.task.cpus}, set to the executor's cores so that one worker uses all its threads). TrainJob's
     * default worker count and PredictJob's scoring partitions follow it: more tasks than slots run one after
     * another.
     */
    public static int taskSlots(SparkContext sc) {
        return taskSlots(sc.defaultParallelism(), sc.getConf().getInt("spark.task.cpus", 1));
    }

    static int taskSlots(int defaultParallelism, int taskCpus) {
        return Math.max(1, defaultParallelism / Math.max(1, taskCpus));
    }

    /** A new session as {@link #open(String, Map)} creates it. */
    public static SparkSession create(String appName, Map<String, String> executorConf) {
        SparkConf conf = new SparkConf(true);
        executorConf.forEach(conf::setIfMissing);
        if (!conf.contains("spark.master")) {
            // Run as a plain Java program (IDE, tests, quickstart): local Spark on all cores.
            conf.setMaster("local[*]");
        }
        conf.setIfMissing("spark.app.name", appName);
        DEFAULTS.forEach(conf::setIfMissing);
        REQUIRED.forEach(conf::set);
        // Executors are separate JVMs on a cluster: they need the same DL4J helper switch.
        String opts = conf.get("spark.executor.extraJavaOptions", "");
        if (!opts.contains(NativeRuntime.HELPERS_DISABLE)) {
            conf.set("spark.executor.extraJavaOptions", (opts + " -D" + NativeRuntime.HELPERS_DISABLE + "=false").strip());
        }
        // Executors load ND4J (and PredictJob's model) while the driver lists and plans; a user's plugins stay.
        String plugins = conf.get("spark.plugins", "").strip();
        if (!Arrays.asList(plugins.split("\\s*,\\s*")).contains(ExecutorWarmup.class.getName())) {
            conf.set("spark.plugins", plugins.isBlank() ? ExecutorWarmup.class.getName() : plugins + "," + ExecutorWarmup.class.getName());
        }
        // Executor JVMs start after this point: give them the malloc settings ND4J needs (see NativeRuntime).
        NativeRuntime.executorEnvironment().forEach(conf::setIfMissing);
        return SparkSession.builder().config(conf).getOrCreate();
    }
}
