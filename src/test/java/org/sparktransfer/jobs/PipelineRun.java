package org.sparktransfer.jobs;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/** Running the jobs in-JVM the way spark-submit would, and reading their Parquet tables back. */
final class PipelineRun {
    private PipelineRun() {}

    /** The job's options for a fast run: ResNet-18 at 32 px, one epoch, batches of 8. */
    static final List<String> TINY_TRAINING = List.of(
            "--arch", "resnet18", "--image-size", "32", "--resize-size", "36", "--epochs", "1", "--batch-size", "8");

    static void train(String... args) {
        run(new TrainCommand(), args);
    }

    static void predict(String... args) {
        run(new PredictCommand(), args);
    }

    /** Runs a job and fails with its stderr unless it exits 0. */
    static void run(JobCommand job, String... args) {
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int code;
        // picocli's error writer wraps System.err when the CommandLine is built, inside Cli.run.
        System.setErr(new PrintStream(new TeeStream(err, captured), true, StandardCharsets.UTF_8));
        try {
            code = Cli.run(job, args);
        } finally {
            System.setErr(err);
        }
        assertEquals(ExitCode.OK.code(), code, () -> job.getClass().getSimpleName() + " " + String.join(" ", args)
                + " failed; its stderr:\n" + captured.toString(StandardCharsets.UTF_8));
    }

    static String[] args(List<String> base, String... more) {
        List<String> all = new ArrayList<>(base);
        all.addAll(Arrays.asList(more));
        return all.toArray(String[]::new);
    }

    static List<Row> read(SparkSession spark, String uri) {
        return spark.read().parquet(uri).collectAsList();
    }

    static Set<String> columns(SparkSession spark, String uri) {
        return new TreeSet<>(Arrays.asList(spark.read().parquet(uri).columns()));
    }

    static void assertColumns(SparkSession spark, String uri, String... expected) {
        assertEquals(new TreeSet<>(Arrays.asList(expected)), columns(spark, uri), "columns of " + uri);
    }

    static <T> T field(Row r, String name) {
        return r.getAs(name);
    }

    static void assertProbabilities(Row prediction, int classes, int topK) {
        List<Double> p = prediction.getList(prediction.fieldIndex("probabilities"));
        List<Row> top = prediction.getList(prediction.fieldIndex("top_k"));
        double confidence = prediction.getDouble(prediction.fieldIndex("confidence"));
        assertNotNull(p);
        assertAll(
                () -> assertEquals(classes, p.size(), "probabilities per class"),
                () -> assertEquals(1.0, p.stream().mapToDouble(Double::doubleValue).sum(), 1e-4, "softmax sums to 1"),
                () -> assertEquals(p.stream().mapToDouble(Double::doubleValue).max().orElseThrow(), confidence, 1e-12),
                () -> assertEquals(topK, top.size(), "top_k entries"),
                () -> assertEquals(prediction.getString(prediction.fieldIndex("predicted_label")), top.get(0).getString(0)),
                () -> assertTrue(top.get(0).getDouble(1) >= top.get(top.size() - 1).getDouble(1), "top_k sorted"));
    }

    /** Copies everything written to the real stderr (so the build log keeps it) and remembers it. */
    private static final class TeeStream extends java.io.OutputStream {
        private final java.io.OutputStream a;
        private final java.io.OutputStream b;

        TeeStream(java.io.OutputStream a, java.io.OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int x) throws java.io.IOException {
            a.write(x);
            b.write(x);
        }

        @Override
        public void write(byte[] buf, int off, int len) throws java.io.IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }

        @Override
        public void flush() throws java.io.IOException {
            a.flush();
            b.flush();
        }
    }
}
