package org.sparktransfer.testing;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * {@link LocalSpark#start()} for the tests of one class, as a JUnit extension instead of a {@code @BeforeAll} /
 * {@code @AfterAll} pair in each class:
 * <pre>{@code @RegisterExtension static final LocalSparkPerClass SPARK = new LocalSparkPerClass();}</pre>
 * The session starts before the class's {@code @BeforeAll} methods run and is closed after its tests.
 */
public final class LocalSparkPerClass implements BeforeAllCallback, AfterAllCallback {
    private LocalSpark local;

    @Override
    public void beforeAll(ExtensionContext context) {
        local = LocalSpark.start();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (local != null) {
            local.close();
            local = null;
        }
    }

    public SparkSession spark() {
        return local.spark();
    }

    public JavaSparkContext jsc() {
        return JavaSparkContext.fromSparkContext(local.spark().sparkContext());
    }
}
