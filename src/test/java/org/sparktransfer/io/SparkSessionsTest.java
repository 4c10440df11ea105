package org.sparktransfer.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.sparktransfer.runtime.NativeRuntime;

/** The session a job creates: required settings forced, executor malloc environment filled in, user settings kept. */
class SparkSessionsTest {

    @Test
    void executorsGetTheMallocSettingsUnlessTheUserSetOwn() {
        // SparkConf(true), as spark-submit passes --conf, reads spark.* system properties.
        System.setProperty("spark.master", "local[1]");
        System.setProperty("spark.ui.enabled", "false");
        System.setProperty("spark.driver.host", "127.0.0.1");
        System.setProperty("spark.driver.bindAddress", "127.0.0.1");
        System.setProperty("spark.executorEnv.MALLOC_ARENA_MAX", "4");
        SparkSession spark = null;
        try {
            spark = SparkSessions.create("SparkSessionsTest");
            SparkConf conf = spark.sparkContext().getConf();
            assertEquals("4", conf.get("spark.executorEnv.MALLOC_ARENA_MAX"), "the user's value wins");
            NativeRuntime.MALLOC_ENV.forEach((k, v) -> {
                if (!k.equals("MALLOC_ARENA_MAX")) {
                    assertEquals(v, conf.get("spark.executorEnv." + k), k);
                }
            });
            assertEquals("false", conf.get("spark.cleaner.referenceTracking"));
        } finally {
            if (spark != null) {
                spark.stop();
            }
            for (String k : new String[] {"spark.master", "spark.ui.enabled", "spark.driver.host",
                    "spark.driver.bindAddress", "spark.executorEnv.MALLOC_ARENA_MAX"}) {
                System.clearProperty(k);
            }
        }
    }
}
