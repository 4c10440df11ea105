package org.sparktransfer.testing;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * One SparkSession for a test class, on loopback only: start it in {@code @BeforeAll}, close it in
 * {@code @AfterAll}. The jobs borrow it (they find it as the active/default session) and do not
 * stop it. It carries what the jobs require and what their own sessions would set:
 * {@code spark.cleaner.referenceTracking=false} (else Spark's cleaner frees DL4J's broadcast
 * parameters), Kryo with ND4J's registrator, dynamic partition overwrite, UI off, few shuffle
 * partitions (tiny data).
 *
 * <pre>{@code
 * spark = LocalSpark.builder().hadoop(s3.s3aSettings()).start();   // local[2]
 * spark.addHadoopSettings(Map.of("fs.s3a.endpoint", ...));        // or later, on the running session
 * }</pre>
 *
 * <p>For separate executor JVMs use {@link Builder#localCluster(int, int, int)}.
 */
public final class LocalSpark implements AutoCloseable {
    private final SparkSession spark;

    private LocalSpark(SparkSession spark) {
        this.spark = spark;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A local[2] session with the defaults above. */
    public static LocalSpark start() {
        return builder().start();
    }

    public SparkSession spark() {
        return spark;
    }

    /** Sets Hadoop settings (e.g. {@link S3Server#s3aSettings()}) on the running session's hadoopConfiguration. */
    public LocalSpark addHadoopSettings(Map<String, String> settings) {
        settings.forEach(spark.sparkContext().hadoopConfiguration()::set);
        return this;
    }

    @Override
    public void close() {
        JobSession.stopAndForget(spark);
    }

    public static final class Builder {
        private String master = "local[2]";
        private String appName = "test";
        private final Map<String, String> conf = new LinkedHashMap<>();

        private Builder() {
            conf.put("spark.cleaner.referenceTracking", "false");
            conf.put("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
            conf.put("spark.kryo.registrator", "org.sparktransfer.io.Nd4jKryoRegistrator");
            conf.put("spark.sql.sources.partitionOverwriteMode", "dynamic");
            conf.put("spark.sql.shuffle.partitions", "4");
            conf.put("spark.ui.enabled", "false");
            conf.put("spark.ui.showConsoleProgress", "false");
            conf.put("spark.driver.host", "127.0.0.1");
            conf.put("spark.driver.bindAddress", "127.0.0.1");
        }

        public Builder master(String master) {
            this.master = master;
            return this;
        }

        public Builder appName(String appName) {
            this.appName = appName;
            return this;
        }

        public Builder conf(String key, String value) {
            conf.put(key, value);
            return this;
        }

        /** Hadoop settings, passed as {@code spark.hadoop.<key>} so executors get them too. */
        public Builder hadoop(Map<String, String> settings) {
            settings.forEach((k, v) -> conf.put("spark.hadoop." + k, v));
            return this;
        }

        /**
         * {@code local-cluster[executors,cores,memoryMb]}: a standalone master and worker inside this
         * JVM that launch each executor as its own JVM, prepared by {@link SparkHome}.
         */
        public Builder localCluster(int executors, int coresPerExecutor, int memoryMb) {
            master = "local-cluster[" + executors + "," + coresPerExecutor + "," + memoryMb + "]";
            SparkHome.prepare().executorSettings(memoryMb).forEach(conf::put);
            // SparkContext's start waits until every executor has registered, so tasks can use them all
            // (standalone counts registered cores against spark.cores.max).
            conf.put("spark.cores.max", String.valueOf(executors * coresPerExecutor));
            conf.put("spark.scheduler.minRegisteredResourcesRatio", "1.0");
            conf.put("spark.scheduler.maxRegisteredResourcesWaitingTime", "180s");
            return this;
        }

        public LocalSpark start() {
            if (SparkSession.getActiveSession().isDefined() || SparkSession.getDefaultSession().isDefined()) {
                throw new IllegalStateException("a SparkSession is already running in this JVM; close it first");
            }
            SparkConf sc = new SparkConf(false).setMaster(master).setAppName(appName);
            conf.forEach(sc::set);
            return new LocalSpark(SparkSession.builder().config(sc).getOrCreate());
        }
    }
}
