package org.sparktransfer.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparktransfer.io.Storage;
import org.sparktransfer.jobs.Cli;
import org.sparktransfer.jobs.PredictCommand;
import org.sparktransfer.testing.LocalSpark;
import org.sparktransfer.testing.SmallModels;
import org.sparktransfer.testing.TestImages;

/** PredictJob's guards and incremental scoring, with a model artifact written directly (no training needed). */
class PredictBehaviourTest {
    @TempDir
    static Path tmp;
    static LocalSpark local;
    static Path model;

    @BeforeAll
    static void start() throws IOException {
        local = LocalSpark.start();
        model = tmp.resolve("model");
        SmallModels.saveResNet18(new Storage(new Configuration()), new org.apache.hadoop.fs.Path(model.toUri()), "test-model",
                List.of("blue", "green", "red"), 5);
    }

    @AfterAll
    static void stop() {
        if (local != null) {
            local.close();
        }
    }

    static int predict(Path images, Path out, String... extra) {
        String[] base = {"--model", model.toString(), "--images", images.toString(), "--output", out.toString(), "--run-date", "2026-11-28"};
        String[] args = java.util.stream.Stream.concat(java.util.Arrays.stream(base), java.util.Arrays.stream(extra)).toArray(String[]::new);
        return Cli.run(new PredictCommand(), args);
    }

    static String stderrOf(Runnable r) {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            r.run();
        } finally {
            System.setErr(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aModelThatDoesNotFitFailsBeforeAnyImageIsRead() throws IOException {
        Path nowhere = tmp.resolve("no-such-images");
        Path out = tmp.resolve("mismatch-out");
        String err = stderrOf(() -> assertEquals(2, predict(nowhere, out, "--image-size", "224")));
        assertTrue(err.contains("takes 32 px images but --image-size is 224"), err);
        Path classes = Files.writeString(tmp.resolve("expected.txt"), "cat\ndog\n");
        String err2 = stderrOf(() -> assertEquals(2, predict(nowhere, out, "--expect-classes", classes.toString())));
        assertTrue(err2.contains("--expect-classes lists [cat, dog]"), err2);
        assertFalse(Files.exists(out), "nothing written");
    }

    @Test
    void skipScoredScoresOnlyNewImagesOfAGrowingFolder() {
        Path images = tmp.resolve("incoming");
        Path out = tmp.resolve("incremental-out");
        TestImages.folder().classes("blue", "green").perClass(3).size(36, 36).seed(1).writeTo(images);
        assertEquals(0, predict(images, out, "--run-id", "day1", "--skip-scored"));
        TestImages.folder().classes("red").perClass(2).size(36, 36).seed(2).writeTo(images);
        assertEquals(0, predict(images, out, "--run-id", "day2", "--skip-scored"));
        // Rerunning day2 must not count day2's own rows as "already scored".
        assertEquals(0, predict(images, out, "--run-id", "day2", "--skip-scored"));

        var predictions = local.spark().read().parquet(out.resolve("predictions").toString());
        assertEquals(6, predictions.filter("run_id = 'day1'").count());
        List<Row> day2 = predictions.filter("run_id = 'day2'").select("image_path", "true_label").collectAsList();
        assertEquals(2, day2.size(), "only the two new images");
        day2.forEach(r -> assertTrue(r.getString(0).contains("/red/") && "red".equals(r.getString(1))));
        Row summary = local.spark().read().parquet(out.resolve("summary").toString()).filter("run_id = 'day2'")
                .select("images_scored", "images_skipped").first();
        assertEquals(2L, summary.getLong(0));
        assertEquals(6L, summary.getLong(1));
        assertEquals(8, predictions.select("image_path").distinct().count(), "every image scored exactly once");
    }

    @Test
    void badFilesAmongGoodOnesAreRejectedWithTheirReasonAndEveryGoodImageIsScoredOnce() throws IOException {
        Path images = tmp.resolve("mixed");
        TestImages.Folder folder = TestImages.folder().classes("blue", "green", "red").perClass(4).size(36, 36).seed(3)
                .truncated("green/img-001.png").writeTo(images);
        Files.writeString(images.resolve("red").resolve("notes.png"), "this is not a PNG");
        // Spark's file scan skips zero-byte files; the job lists them itself and rejects them.
        Files.write(images.resolve("blue").resolve("empty.png"), new byte[0]);
        Path out = tmp.resolve("mixed-out");
        // Batches of 3: rejects fall inside batches, which must still fill up, and the last batch is partial.
        assertEquals(0, predict(images, out, "--batch-size", "3", "--run-id", "mixed"));

        var spark = local.spark();
        List<Row> predictions = spark.read().parquet(out.resolve("predictions").toString())
                .select("image_path", "true_label").collectAsList();
        Set<String> scored = new TreeSet<>();
        predictions.forEach(r -> assertTrue(scored.add(relative(images, r.getString(0))), "scored once: " + r));
        assertEquals(new TreeSet<>(folder.good()), scored, "every good image scored");
        predictions.forEach(r -> assertEquals(TestImages.Folder.labelOf(relative(images, r.getString(0))), r.getString(1)));

        Map<String, String> rejects = new TreeMap<>();
        for (Row r : spark.read().parquet(out.resolve("rejects").toString())
                .select("path", "stage", "reason", "message", "bytes", "model_id", "run_id").collectAsList()) {
            rejects.put(relative(images, r.getString(0)), r.getString(1) + "/" + r.getString(2));
            assertFalse(r.isNullAt(3) || r.getString(3).isBlank(), "a message for " + r);
            assertEquals(Files.size(Path.of(r.getString(0).replaceFirst("^file:", ""))), r.getLong(4), "bytes of " + r);
            assertEquals("test-model", r.getString(5));
            assertEquals("mixed", r.getString(6));
        }
        assertEquals(Map.of(folder.bad().get(0), "decode/TRUNCATED", "red/notes.png", "decode/NOT_AN_IMAGE",
                "blue/empty.png", "decode/EMPTY"), rejects);

        Row summary = spark.read().parquet(out.resolve("summary").toString())
                .select("images_scored", "images_rejected", "labelled_images", "top_k_accuracy").first();
        assertEquals((long) folder.good().size(), summary.getLong(0));
        assertEquals(3L, summary.getLong(1));
        assertEquals((long) folder.good().size(), summary.getLong(2));
        assertEquals(1.0, summary.getDouble(3), 1e-12, "3 classes, top 5: the true class is always in the top k");
    }

    @Test
    void anImagesProbabilitiesDoNotDependOnTheBatchItIsScoredIn() {
        Path images = tmp.resolve("batch-independent");
        TestImages.folder().classes("blue", "green", "red").perClass(3).size(40, 36).seed(4).writeTo(images);
        Path out = tmp.resolve("batch-independent-out");
        // 9 images: batches of 4 end with a single image padded to shape 1; batches of 2 with one; one batch of 16 padded to 16.
        for (String batch : List.of("4", "2", "16")) {
            assertEquals(0, predict(images, out, "--batch-size", batch, "--run-id", "b" + batch));
        }
        var predictions = local.spark().read().parquet(out.resolve("predictions").toString());
        Map<String, List<Double>> reference = new TreeMap<>();
        for (Row r : predictions.filter("run_id = 'b16'").select("image_path", "probabilities").collectAsList()) {
            reference.put(r.getString(0), r.getList(1));
        }
        assertEquals(9, reference.size());
        for (Row r : predictions.filter("run_id != 'b16'").select("image_path", "probabilities", "run_id").collectAsList()) {
            List<Double> expected = reference.get(r.getString(0));
            List<Double> actual = r.getList(1);
            for (int i = 0; i < expected.size(); i++) {
                assertEquals(expected.get(i), actual.get(i), 1e-4, r.getString(0) + " in run " + r.getString(2));
            }
        }
    }

    private static String relative(Path root, String path) {
        String prefix = root.toUri().getPath();
        String p = path.replaceFirst("^file:", "");
        assertTrue(p.startsWith(prefix), p + " under " + prefix);
        return p.substring(prefix.length());
    }
}
