package org.sparktransfer.jobs;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.sql.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.sparktransfer.io.ModelArtifact;
import org.sparktransfer.io.ModelManifest;
import org.sparktransfer.io.Storage;
import org.sparktransfer.testing.TestImages;

/** The assertions on TrainJob's and PredictJob's outputs that hold on every file system. */
final class PipelineOutputs {
    private PipelineOutputs() {}

    /**
     * A finished run directory: marker, classes, model artifact, and the history, rejects and
     * split_counts tables agreeing with the images written.
     */
    static void assertTrainRun(SparkSession spark, String runDir, TestImages.Folder images, String badReason)
            throws IOException {
        Storage storage = new Storage(spark.sparkContext().hadoopConfiguration());
        List<String> sortedClasses = images.classes().stream().sorted().toList();
        assertTrue(storage.exists(new Path(runDir, "_SUCCESS")), "_SUCCESS in " + runDir);
        assertEquals(sortedClasses, storage.readString(new Path(runDir, "classes.txt")).lines().toList());

        Path modelDir = new Path(runDir, "model");
        assertTrue(ModelArtifact.isArtifact(storage, modelDir), "model artifact in " + modelDir);
        ModelManifest manifest = ModelArtifact.readManifest(storage, modelDir);
        assertAll(
                () -> assertEquals("resnet18", manifest.arch()),
                () -> assertEquals(sortedClasses, manifest.classes()),
                () -> assertEquals(32, manifest.inputSize()),
                () -> assertEquals(36, manifest.resizeSize()));

        String split = runDir + "/split_counts";
        PipelineRun.assertColumns(spark, split, "split", "label", "images");
        List<Row> counts = PipelineRun.read(spark, split);
        long good = counts.stream().mapToLong(r -> r.getLong(r.fieldIndex("images"))).sum();
        assertEquals(images.good().size(), good, "good images over all splits");
        assertEquals(new HashSet<>(images.classes()),
                counts.stream().map(r -> r.<String>getAs("label")).collect(Collectors.toSet()));
        long trainImages = counts.stream().filter(r -> "train".equals(r.getAs("split")))
                .mapToLong(r -> r.getLong(r.fieldIndex("images"))).sum();
        assertTrue(trainImages > 0 && trainImages < good, "both splits used: " + counts);

        String history = runDir + "/history";
        PipelineRun.assertColumns(spark, history, "run_name", "epoch", "train_loss", "val_loss", "val_accuracy",
                "learning_rate", "train_images", "images_per_second", "seconds", "is_best");
        List<Row> epochs = PipelineRun.read(spark, history);
        assertEquals(1, epochs.size(), "one epoch");
        Row e = epochs.get(0);
        assertAll(
                () -> assertEquals(1, e.<Integer>getAs("epoch")),
                () -> assertEquals(new Path(runDir).getName(), e.getAs("run_name")),
                () -> assertEquals(trainImages, e.<Long>getAs("train_images")),
                () -> assertTrue(Double.isFinite(e.<Double>getAs("train_loss")) && e.<Double>getAs("train_loss") > 0),
                () -> assertTrue(e.<Double>getAs("val_accuracy") >= 0 && e.<Double>getAs("val_accuracy") <= 1),
                () -> assertTrue(e.<Boolean>getAs("is_best")));

        String rejects = runDir + "/rejects";
        PipelineRun.assertColumns(spark, rejects, "path", "bytes", "stage", "reason", "message");
        assertRejects(PipelineRun.read(spark, rejects), images, Map.of(images.bad().get(0), badReason));
    }

    /**
     * PredictJob's five tables for one (run_date, run_id) partition, scored over {@code images}'
     * good files with their folder labels; {@code rejected} maps relative paths to stage/reason.
     */
    static void assertPredictRun(SparkSession spark, String out, TestImages.Folder images, String runDate,
                                 String runId, int topK, Map<String, String> rejected) {
        int classes = images.classes().size();
        String partition = "run_date = DATE'" + runDate + "' AND run_id = '" + runId + "'";

        String predictions = out + "/predictions";
        PipelineRun.assertColumns(spark, predictions, "image_path", "predicted_label", "predicted_index", "confidence",
                "top_k", "probabilities", "true_label", "correct", "model_id", "run_id", "scored_at", "run_date");
        List<Row> rows = spark.read().parquet(predictions).where(partition).collectAsList();
        assertEquals(images.good().size(), rows.size(), "one prediction per good image");
        Map<String, Row> byRelative = new TreeMap<>();
        for (Row r : rows) {
            String path = r.getAs("image_path");
            assertTrue(path.startsWith(images.root()), path + " under " + images.root());
            byRelative.put(path.substring(withSlash(images.root()).length()), r);
        }
        assertEquals(new java.util.TreeSet<>(images.good()), byRelative.keySet(), "every good image scored once");
        long correct = 0;
        for (var en : byRelative.entrySet()) {
            Row r = en.getValue();
            String truth = TestImages.Folder.labelOf(en.getKey());
            PipelineRun.assertProbabilities(r, classes, topK);
            assertEquals(truth, r.getAs("true_label"), en.getKey());
            assertTrue(images.classes().contains(r.<String>getAs("predicted_label")));
            assertEquals(truth.equals(r.getAs("predicted_label")), r.<Boolean>getAs("correct"), en.getKey());
            assertEquals(Date.valueOf(runDate), r.getAs("run_date"));
            correct += r.<Boolean>getAs("correct") ? 1 : 0;
        }

        String rejectsUri = out + "/rejects";
        PipelineRun.assertColumns(spark, rejectsUri, "path", "bytes", "stage", "reason", "message", "model_id",
                "run_id", "run_date");
        assertRejects(spark.read().parquet(rejectsUri).where(partition).collectAsList(), images, rejected);

        String summaryUri = out + "/summary";
        List<Row> summary = spark.read().parquet(summaryUri).where(partition).collectAsList();
        assertEquals(1, summary.size(), "one summary row per run");
        Row s = summary.get(0);
        long scored = rows.size();
        double accuracy = (double) correct / scored;
        assertAll(
                () -> assertEquals(scored, s.<Long>getAs("images_scored")),
                () -> assertEquals(rejected.size(), s.<Long>getAs("images_rejected")),
                () -> assertEquals(0L, s.<Long>getAs("images_skipped")),
                () -> assertEquals(scored, s.<Long>getAs("labelled_images")),
                () -> assertEquals(0L, s.<Long>getAs("labelled_unknown_class")),
                () -> assertEquals(accuracy, s.<Double>getAs("accuracy"), 1e-12),
                () -> assertEquals(topK, s.<Integer>getAs("top_k")),
                () -> assertEquals(rows.get(0).<String>getAs("model_id"), s.getAs("model_id")));

        List<Row> confusion = spark.read().parquet(out + "/confusion_matrix").where(partition).collectAsList();
        assertEquals(classes * classes, confusion.size(), "confusion matrix cells");
        assertEquals(scored, confusion.stream().mapToLong(r -> r.<Long>getAs("count")).sum());
        long diagonal = confusion.stream().filter(r -> r.getAs("actual_label").equals(r.getAs("predicted_label")))
                .mapToLong(r -> r.<Long>getAs("count")).sum();
        assertEquals(correct, diagonal, "confusion matrix diagonal = correct predictions");

        List<Row> metrics = spark.read().parquet(out + "/class_metrics").where(partition).collectAsList();
        assertEquals(classes, metrics.size());
        assertEquals(scored, metrics.stream().mapToLong(r -> r.<Long>getAs("support")).sum());
        for (Row m : metrics) {
            long expected = images.good().stream().filter(p -> TestImages.Folder.labelOf(p).equals(m.getAs("label"))).count();
            assertEquals(expected, m.<Long>getAs("support"), "support of " + m.getAs("label"));
        }
    }

    /** Exactly the expected files are rejected, each with "stage/reason" as given, a message and its path. */
    static void assertRejects(List<Row> rows, TestImages.Folder images, Map<String, String> expected) {
        Map<String, String> actual = new TreeMap<>();
        for (Row r : rows) {
            String path = r.getAs("path");
            assertTrue(path.startsWith(images.root()), path + " under " + images.root());
            String message = r.getAs("message");
            assertFalse(message == null || message.isBlank(), "reject message for " + path);
            actual.put(path.substring(withSlash(images.root()).length()), r.getAs("stage") + "/" + r.getAs("reason"));
        }
        assertEquals(new TreeMap<>(expected), actual, "rejects (relative path -> stage/reason)");
    }

    private static String withSlash(String s) {
        return s.endsWith("/") ? s : s + "/";
    }
}
