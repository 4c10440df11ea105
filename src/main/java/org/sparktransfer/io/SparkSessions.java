package org.sparktransfer.io;

import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

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
            "spark.kryo.registrator", "org.nd4j.kryo.Nd4jRegistrator",
            "spark.sql.sources.partitionOverwriteMode", "dynamic",
            "spark.sql.parquet.compression.codec", "snappy",
            "spark.ui.showConsoleProgress", "false");

    public static SparkSession create(String appName) {
        SparkConf conf = new SparkConf(true);
        if (!conf.contains("spark.master")) {
            // Run as a plain Java program (IDE, tests, quickstart): local Spark on all cores.
            conf.setMaster("local[*]");
        }
        conf.setIfMissing("spark.app.name", appName);
        DEFAULTS.forEach(conf::setIfMissing);
        REQUIRED.forEach(conf::set);
        return SparkSession.builder().config(conf).getOrCreate();
    }
}
