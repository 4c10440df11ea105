package org.sparktransfer.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparktransfer.testing.LocalSpark;
import org.sparktransfer.testing.TestImages;

/**
 * TrainJob then PredictJob in local Spark on a tiny generated image set, with the outputs read back
 * by an independent Parquet reader (DuckDB), not by Spark.
 */
class EndToEndTest {
    static final List<String> CLASSES = List.of("blue", "green", "red");
    @TempDir
    static Path tmp;
    static LocalSpark local;
    static SparkSession spark;
    static Path runs;
    static Path out;
    static int trainCode;

    @BeforeAll
    static void trainAndPredict() throws Exception {
        local = LocalSpark.start();
        spark = local.spark();
        Path train = tmp.resolve("train");
        Path test = tmp.resolve("test");
        TestImages.folder().classes("blue", "green", "red").perClass(12).size(40, 40).seed(1).writeTo(train);
        Files.createDirectories(train.resolve("red"));
        Files.writeString(train.resolve("red").resolve("broken.png"), "this is not a PNG");
        // Spark's file scan skips zero-byte files: the job must still report this one.
        Files.write(train.resolve("green").resolve("empty.png"), new byte[0]);
        TestImages.folder().classes("blue", "green", "red").perClass(4).size(40, 40).seed(2).writeTo(test);
        runs = tmp.resolve("runs");
        out = tmp.resolve("predictions");
        trainCode = Cli.run(new TrainCommand(), new String[] {
            "--images", train.toUri().toString(), "--output", runs.toString(), "--run-name", "e2e",
            "--image-size", "32", "--resize-size", "36", "--epochs", "2", "--batch-size", "8",
            "--freeze", "layer1", "--lr", "0.05", "--val-fraction", "0.25", "--max-reject-fraction", "0.1"});
        assertEquals(0, trainCode, "TrainJob exit code");
        for (int i = 0; i < 2; i++) { // the rerun must replace, not duplicate
            assertEquals(0, Cli.run(new PredictCommand(), new String[] {
                "--model", runs.resolve("e2e").toString(), "--images", test.toString(), "--output", out.toString(),
                "--run-date", "2026-11-28", "--run-id", "nightly", "--top-k", "2", "--batch-size", "5"}));
        }
    }

    @AfterAll
    static void stop() {
        if (local != null) {
            local.close();
        }
    }

    static Connection duck() throws SQLException {
        return DriverManager.getConnection("jdbc:duckdb:");
    }

    static String table(Path base, String name) {
        return "read_parquet('" + base.resolve(name) + "/**/*.parquet', hive_partitioning = true)";
    }

    static List<List<Object>> query(String sql) throws SQLException {
        try (Connection c = duck(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            List<List<Object>> rows = new ArrayList<>();
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                List<Object> row = new ArrayList<>();
                for (int i = 1; i <= n; i++) {
                    row.add(rs.getObject(i));
                }
                rows.add(row);
            }
            return rows;
        }
    }

    @Test
    void runDirectoryIsCompleteWithModelHistoryAndRejects() throws Exception {
        Path run = runs.resolve("e2e");
        assertTrue(Files.exists(run.resolve("_SUCCESS")));
        assertTrue(Files.exists(run.resolve("model/manifest.json")));
        assertEquals(CLASSES, Files.readAllLines(run.resolve("classes.txt")));
        List<List<Object>> history = query("SELECT epoch, train_loss, val_accuracy, learning_rate FROM "
                + table(runs, "e2e/history") + " ORDER BY epoch");
        assertEquals(2, history.size());
        assertEquals(1, ((Number) history.get(0).get(0)).intValue());
        assertEquals(2, ((Number) history.get(1).get(0)).intValue());
        for (List<Object> h : history) {
            assertTrue(Double.isFinite(((Number) h.get(1)).doubleValue()), "finite train loss");
            double acc = ((Number) h.get(2)).doubleValue();
            assertTrue(acc >= 0 && acc <= 1);
        }
        List<List<Object>> rejects = query("SELECT path, stage, reason, bytes FROM " + table(runs, "e2e/rejects")
                + " ORDER BY path");
        assertEquals(2, rejects.size());
        assertTrue(rejects.get(0).get(0).toString().endsWith("green/empty.png"), rejects.toString());
        assertEquals(List.of("decode", "EMPTY", 0L), List.of(rejects.get(0).get(1), rejects.get(0).get(2),
                ((Number) rejects.get(0).get(3)).longValue()));
        assertTrue(rejects.get(1).get(0).toString().endsWith("red/broken.png"));
        assertEquals("decode", rejects.get(1).get(1));
        assertEquals("NOT_AN_IMAGE", rejects.get(1).get(2));
        assertEquals(17L, ((Number) rejects.get(1).get(3)).longValue());
        long counted = ((Number) query("SELECT sum(images) FROM " + table(runs, "e2e/split_counts")).get(0).get(0)).longValue();
        assertEquals(36, counted, "every good image is in exactly one split");
    }

    @Test
    void onePredictionRowPerImageWithLabelsAndProbabilities() throws Exception {
        List<List<Object>> rows = query("SELECT image_path, predicted_label, predicted_index, confidence, true_label, correct, "
                + "len(probabilities), len(top_k), run_id, model_id, CAST(run_date AS VARCHAR), list_sum(probabilities) FROM "
                + table(out, "predictions"));
        assertEquals(12, rows.size(), "12 test images, scored twice with the same run id: no duplicates");
        Set<String> paths = new HashSet<>();
        for (List<Object> r : rows) {
            paths.add((String) r.get(0));
            assertTrue(CLASSES.contains(r.get(1)));
            assertEquals(CLASSES.indexOf(r.get(1)), ((Number) r.get(2)).intValue());
            assertTrue(CLASSES.contains(r.get(4)), "true label from the folder name");
            assertEquals(r.get(1).equals(r.get(4)), r.get(5));
            assertEquals(3, ((Number) r.get(6)).intValue());
            assertEquals(2, ((Number) r.get(7)).intValue());
            assertEquals("nightly", r.get(8));
            assertEquals("resnet18-e2e", r.get(9));
            assertEquals("2026-11-28", r.get(10));
            assertEquals(1.0, ((Number) r.get(11)).doubleValue(), 1e-4, "softmax sums to one");
        }
        assertEquals(12, paths.size());
    }

    @Test
    void summaryAccuracyEqualsTheConfusionMatrix() throws Exception {
        List<List<Object>> cm = query("SELECT count(*), sum(count), sum(CASE WHEN actual_label = predicted_label THEN count ELSE 0 END) FROM "
                + table(out, "confusion_matrix"));
        assertEquals(9L, ((Number) cm.get(0).get(0)).longValue(), "the full 3x3 square, zero cells included");
        assertEquals(12L, ((Number) cm.get(0).get(1)).longValue());
        double fromMatrix = ((Number) cm.get(0).get(2)).doubleValue() / 12;
        List<List<Object>> summary = query("SELECT accuracy, images_scored, images_rejected, top_k_accuracy FROM " + table(out, "summary"));
        assertEquals(1, summary.size());
        assertEquals(fromMatrix, ((Number) summary.get(0).get(0)).doubleValue(), 1e-12);
        assertEquals(12L, ((Number) summary.get(0).get(1)).longValue());
        assertEquals(0L, ((Number) summary.get(0).get(2)).longValue());
        double correct = ((Number) query("SELECT avg(CASE WHEN correct THEN 1.0 ELSE 0.0 END) FROM " + table(out, "predictions"))
                .get(0).get(0)).doubleValue();
        assertEquals(correct, fromMatrix, 1e-12);
        List<List<Object>> metrics = query("SELECT label, support FROM " + table(out, "class_metrics") + " ORDER BY class_index");
        assertEquals(3, metrics.size());
        for (List<Object> m : metrics) {
            assertEquals(4L, ((Number) m.get(1)).longValue());
        }
    }
}
