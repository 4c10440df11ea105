package org.sparktransfer.runtime;

import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparktransfer.inference.ModelCache;
import org.sparktransfer.io.ModelArtifact;
import org.sparktransfer.io.Storage;

/**
 * A Spark plugin ({@code spark.plugins}) that readies each executor while the driver lists and plans: it loads
 * ND4J's native libraries and, when {@link #MODEL} names a model artifact, reads the model into
 * {@link ModelCache}, on a background thread started when the executor starts; a second thread readies Spark
 * SQL's conversion of the listing into rows ({@link RowConversionWarmup}). Without it the first task of
 * every executor pays all of this before its first forward pass (measured in local mode: 2.3 s for ND4J, 3-4 s for
 * a ResNet-18 artifact with its batch norms folded), after the driver has finished listing, which on a large
 * S3 or HDFS folder can take minutes. A failure here is only logged: the task loads again and reports it.
 */
public final class ExecutorWarmup implements SparkPlugin {
    /** The model artifact (as given to PredictJob's --model) the executors read ahead of their first task. */
    public static final String MODEL = "spark.sparktransfer.warmup.model";
    /** {@code false} turns the warm-up off (the first task of each executor loads everything, as without the plugin). */
    public static final String ENABLED = "spark.sparktransfer.warmup.enabled";
    private static final Logger LOG = LoggerFactory.getLogger(ExecutorWarmup.class);
    private static volatile boolean rowConversionReady;

    @Override
    public DriverPlugin driverPlugin() {
        return null;
    }

    @Override
    public ExecutorPlugin executorPlugin() {
        return new ExecutorPlugin() {
            @Override
            public void init(PluginContext ctx, Map<String, String> extraConf) {
                SparkConf conf = ctx.conf();
                if (!conf.getBoolean(ENABLED, true)) {
                    return;
                }
                int taskCpus = conf.getInt("spark.task.cpus", 1);
                String model = conf.get(MODEL, null);
                // The executor's Hadoop settings as Spark gives them to tasks: defaults and site files plus spark.hadoop.*.
                Storage storage = Storage.fromSparkConf(conf);
                start("sparktransfer-warmup", () -> warmUp(taskCpus, model, storage));
                // Its own thread: both are single-threaded and an executor waiting for its first task has cores to spare.
                start("sparktransfer-warmup-rows", ExecutorWarmup::warmUpRowConversion);
            }
        };
    }

    private static void start(String name, Runnable work) {
        Thread t = new Thread(work, name);
        t.setDaemon(true);
        t.start();
    }

    /** Readies the code generation that reading the listing as rows needs (see {@link RowConversionWarmup}). */
    static void warmUpRowConversion() {
        long t0 = System.nanoTime();
        try {
            RowConversionWarmup.roundTrip(RowConversionWarmup.sampleListedRow());
            rowConversionReady = true;
            LOG.info("Executor warm-up: Spark SQL row conversion ready in {} s", seconds(System.nanoTime() - t0));
        } catch (RuntimeException | LinkageError e) {
            LOG.warn("Executor warm-up of the row conversion failed (the first task does it instead): {}", e.toString());
        }
    }

    /** Whether this JVM's row conversion warm-up has run. */
    static boolean rowConversionReady() {
        return rowConversionReady;
    }

    static void warmUp(int taskCpus, String model, Storage storage) {
        long t0 = System.nanoTime();
        try {
            NativeRuntime.configure(taskCpus);
            long t1 = System.nanoTime();
            if (model == null) {
                LOG.info("Executor warm-up: ND4J ready in {} s", seconds(t1 - t0));
                return;
            }
            Path dir = ModelArtifact.resolve(storage, storage.qualify(model));
            if (dir == null) {
                LOG.warn("Executor warm-up: no model artifact at {}; the first task will report it", model);
                return;
            }
            ModelCache.preload(dir.toString(), storage.conf());
            LOG.info("Executor warm-up: ND4J ready in {} s, model {} loaded in {} s", seconds(t1 - t0), dir,
                    seconds(System.nanoTime() - t1));
        } catch (RuntimeException | java.io.IOException | LinkageError e) {
            LOG.warn("Executor warm-up failed (the first task loads instead): {}", e.toString());
        }
    }

    private static String seconds(long nanos) {
        return String.format("%.1f", nanos / 1e9);
    }
}
