package org.sparktransfer.testing;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.spark.sql.SparkSession;

/**
 * A session created the way a job under spark-submit creates its own: spark-submit hands {@code --conf} settings
 * to the driver as {@code spark.*} system properties, which {@code new SparkConf(true)} reads. Closing it stops
 * the session, forgets it (so the next test class can start its own) and removes the properties again.
 */
public final class JobSession implements AutoCloseable {
    private final Map<String, String> properties;
    private final SparkSession spark;

    private JobSession(Map<String, String> properties, SparkSession spark) {
        this.properties = properties;
        this.spark = spark;
    }

    /** Local mode on loopback with {@code extra} settings; {@code create} makes the session (e.g. SparkSessions.create). */
    public static JobSession start(String master, Map<String, String> extra, Supplier<SparkSession> create) {
        Map<String, String> props = new LinkedHashMap<>(Map.of("spark.master", master, "spark.ui.enabled", "false",
                "spark.driver.host", "127.0.0.1", "spark.driver.bindAddress", "127.0.0.1"));
        props.putAll(extra);
        props.forEach(System::setProperty);
        try {
            return new JobSession(props, create.get());
        } catch (RuntimeException | Error e) {
            props.keySet().forEach(System::clearProperty);
            throw e;
        }
    }

    public SparkSession spark() {
        return spark;
    }

    @Override
    public void close() {
        try {
            stopAndForget(spark);
        } finally {
            properties.keySet().forEach(System::clearProperty);
        }
    }

    /** Stops a session and clears it as the active and default one, which stop() alone leaves set. */
    public static void stopAndForget(SparkSession spark) {
        try {
            spark.stop();
        } finally {
            SparkSession.clearActiveSession();
            SparkSession.clearDefaultSession();
        }
    }
}
