package org.sparktransfer.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparktransfer.io.ModelArtifact;
import org.sparktransfer.io.ModelManifest;
import org.sparktransfer.io.Storage;
import org.sparktransfer.jobs.Cli;
import org.sparktransfer.jobs.ExitCode;
import org.sparktransfer.jobs.TrainCommand;
import org.sparktransfer.testing.LocalSpark;
import org.sparktransfer.testing.TestImages;

/** Resume after a crash, the feature cache, and the data-quality limit, on real local Spark. */
class TrainingBehaviourTest {
    static final List<String> CLASSES = List.of("blue", "green", "red");
    @TempDir
    static Path tmp;
    static LocalSpark local;
    static SparkSession spark;
    static Path images;
    static Storage storage = new Storage(new Configuration());

    @BeforeAll
    static void start() throws IOException {
        local = LocalSpark.start();
        spark = local.spark();
        images = tmp.resolve("images");
        TestImages.folder().classes("blue", "green", "red").perClass(10).size(36, 36).seed(7).writeTo(images);
    }

    @AfterAll
    static void stop() {
        if (local != null) {
            local.close();
        }
    }

    static int train(String runName, String... extra) {
        List<String> args = new ArrayList<>(List.of("--images", images.toString(), "--output", tmp.resolve("runs").toString(),
                "--run-name", runName, "--image-size", "32", "--resize-size", "36", "--batch-size", "8",
                "--val-fraction", "0.3", "--seed", "11", "--workers", "2"));
        args.addAll(List.of(extra));
        return Cli.run(new TrainCommand(), args.toArray(String[]::new));
    }

    static ModelArtifact model(String runName) throws IOException {
        return ModelArtifact.load(storage, new org.apache.hadoop.fs.Path(tmp.resolve("runs").resolve(runName).resolve("model").toUri()), false);
    }

    @Test
    void resumedRunEndsWithTheSameParametersAsAnUninterruptedOne() throws IOException {
        String[] opts = {"--epochs", "2", "--freeze", "layer3", "--lr", "0.05", "--lr-schedule", "CONSTANT"};
        assertEquals(0, train("straight", opts));
        Path crashed = tmp.resolve("runs/crashed");
        assertEquals(0, train("crashed", opts));
        // What a crash right after epoch 1's checkpoint leaves behind: no epoch 2, no model, no marker.
        for (String gone : List.of("checkpoints/epoch-0002", "model", "history", "_SUCCESS")) {
            deleteTree(crashed.resolve(gone));
        }
        assertEquals(ExitCode.USAGE_ERROR.code(), train("crashed", opts), "an unfinished run needs --resume");
        List<String> resume = new ArrayList<>(List.of(opts));
        resume.add("--resume");
        assertEquals(0, train("crashed", resume.toArray(String[]::new)));

        INDArray a = model("straight").network().params();
        INDArray b = model("crashed").network().params();
        double maxDiff = a.sub(b).amaxNumber().doubleValue();
        double scale = a.amaxNumber().doubleValue();
        // Stated tolerance: 1e-5 of the largest parameter (oneDNN may reorder float sums between runs).
        assertTrue(maxDiff <= 1e-5 * scale, "resumed parameters differ by " + maxDiff + " (scale " + scale + ")");
        INDArray initialConv = model("straight").network().getLayer("layer4.1.conv2").params();
        assertFalse(initialConv.equals(org.sparktransfer.model.ResNetFactory.build(
                org.sparktransfer.model.ResNetArch.RESNET18, 3, 32, 11).getLayer("layer4.1.conv2").params()),
                "the trainable stage did train");
        // dl4j-spark never unpersists its per-round network broadcasts and the cleaner is off: the loop must.
        assertEquals(0, RoundBroadcasts.release(org.apache.spark.api.java.JavaSparkContext.fromSparkContext(spark.sparkContext()), -1),
                "averaging rounds' network broadcasts left on the driver");
    }

    @Test
    void featureCacheTrainsTheHeadLikeTheUncachedPath() throws IOException {
        String[] opts = {"--epochs", "4", "--freeze", "backbone", "--lr", "0.01", "--optimizer", "ADAM", "--crop-scale", "0.9,1"};
        assertEquals(0, train("cached", opts));
        List<String> uncached = new ArrayList<>(List.of(opts));
        uncached.add("--no-cache-features");
        assertEquals(0, train("uncached", uncached.toArray(String[]::new)));
        assertTrue(Files.exists(tmp.resolve("runs/cached/features/_SUCCESS")));
        assertFalse(Files.exists(tmp.resolve("runs/uncached/features")));

        ModelArtifact cached = model("cached");
        ModelArtifact plain = model("uncached");
        // Frozen backbone: identical in both, and identical to where it started (same seed).
        ComputationGraph start = org.sparktransfer.model.ResNetFactory.build(org.sparktransfer.model.ResNetArch.RESNET18, 3, 32, 11);
        for (String layer : List.of("conv1", "layer2.0.conv1", "layer4.1.bn2")) {
            assertEquals(start.getLayer(layer).params(), cached.network().getLayer(layer).params(), layer);
            assertEquals(start.getLayer(layer).params(), plain.network().getLayer(layer).params(), layer);
        }
        double accCached = accuracy(cached.manifest());
        double accPlain = accuracy(plain.manifest());
        assertTrue(Math.abs(accCached - accPlain) <= 0.2, "cached " + accCached + " vs uncached " + accPlain);
        assertTrue(accCached >= 0.6, "a head on frozen features separates three colours: " + accCached);
    }

    @Test
    void tooManyRejectsFailsWithExitCode3AndReportsThem() throws IOException {
        Path dirty = tmp.resolve("dirty");
        TestImages.folder().classes("blue", "green", "red").perClass(3).size(32, 32).seed(3).writeTo(dirty);
        for (int i = 0; i < 3; i++) {
            Files.writeString(dirty.resolve("red").resolve("bad-" + i + ".jpg"), "this is not a PNG");
        }
        int code = Cli.run(new TrainCommand(), new String[] {"--images", dirty.toString(), "--output", tmp.resolve("runs").toString(),
            "--run-name", "dirty", "--image-size", "32", "--resize-size", "32", "--epochs", "1", "--max-reject-fraction", "0.1"});
        assertEquals(ExitCode.DATA_ERROR.code(), code);
        long rejects = spark.read().parquet(tmp.resolve("runs/dirty/rejects").toString()).count();
        assertEquals(3, rejects);
        assertFalse(Files.exists(tmp.resolve("runs/dirty/_SUCCESS")));
        assertFalse(Files.exists(tmp.resolve("runs/dirty/model")));
    }

    static double accuracy(ModelManifest m) {
        return m.metrics().get("val_accuracy");
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(q -> q.toFile().delete());
        }
    }
}
