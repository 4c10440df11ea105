package org.sparktransfer.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparktransfer.io.ModelArtifact;
import org.sparktransfer.io.Storage;
import org.sparktransfer.model.KerasResNet;
import org.sparktransfer.testing.LocalSpark;
import org.sparktransfer.testing.TestImages;
import org.sparktransfer.testing.ZooModels;

/**
 * TrainJob from a DL4J zoo ResNet50 zip (feature extraction, 96 px) then PredictJob with the trained model, in
 * local Spark: the backbone arrives unchanged in the model, the manifest records the zoo's normalisation, and
 * PredictJob scores every image with the data's classes.
 */
class ZooModelPipelineTest {
    static final List<String> CLASSES = List.of("blue", "green", "red");

    @TempDir
    Path tmp;

    @Test
    void trainFromTheZooZipAndPredict() throws Exception {
        ComputationGraph zoo = ZooModels.resnet50(96, 21);
        Path zip = ZooModels.save(zoo, tmp.resolve("zoo-resnet50.zip"));
        Path train = tmp.resolve("train");
        Path test = tmp.resolve("test");
        TestImages.folder().classes("blue", "green", "red").perClass(3).size(100, 100).seed(1).writeTo(train);
        TestImages.folder().classes("blue", "green", "red").perClass(1).size(100, 100).seed(2).writeTo(test);
        Path runs = tmp.resolve("runs");
        Path out = tmp.resolve("predictions");
        try (LocalSpark local = LocalSpark.start()) {
            assertEquals(0, Cli.run(new TrainCommand(), new String[] {
                "--images", train.toString(), "--output", runs.toString(), "--run-name", "zoo",
                "--arch", "resnet50", "--weights", zip.toString(), "--freeze", "backbone",
                "--image-size", "96", "--resize-size", "110", "--epochs", "1", "--batch-size", "4",
                "--val-fraction", "0", "--lr", "0.01"}), "TrainJob exit code");
            assertEquals(0, Cli.run(new PredictCommand(), new String[] {
                "--model", runs.resolve("zoo").toString(), "--images", test.toString(), "--output", out.toString(),
                "--run-date", "2026-11-28", "--run-id", "zoo", "--batch-size", "3"}), "PredictJob exit code");
            double loss = local.spark().read().parquet(runs.resolve("zoo/history").toString())
                    .selectExpr("train_loss").first().getDouble(0);
            assertTrue(Double.isFinite(loss) && loss > 0, "finite training loss on the zoo features: " + loss);
            long scored = local.spark().read().parquet(out.resolve("predictions").toString()).count();
            assertEquals(3, scored, "one prediction per test image");
            assertEquals(3, local.spark().read().parquet(out.resolve("predictions").toString())
                    .selectExpr("size(probabilities) AS n").first().getInt(0));
        }
        ModelArtifact model = ModelArtifact.load(new Storage(new Configuration()), new org.apache.hadoop.fs.Path(
                runs.resolve("zoo/model").toUri()), false);
        assertEquals(CLASSES, model.manifest().classes());
        assertEquals("resnet50", model.manifest().arch());
        assertEquals(96, model.manifest().inputSize());
        assertArrayEquals(new double[] {123.68 / 255, 116.779 / 255, 103.939 / 255}, model.manifest().mean(), 1e-12);
        assertArrayEquals(new double[] {1 / 255.0, 1 / 255.0, 1 / 255.0}, model.manifest().std(), 1e-12);
        ComputationGraph net = model.network();
        assertTrue(KerasResNet.matches(net), "the model is the zoo graph with a new head");
        assertEquals(List.of("fc"), net.getConfiguration().getNetworkOutputs());
        for (String layer : new String[] {"stem-cnn1", "bn3a_branch2b", "res5c_branch2c", "bn5c_branch2c"}) {
            assertArrayEquals(zoo.getLayer(layer).params().dup().data().asFloat(),
                    net.getLayer(layer).params().dup().data().asFloat(), layer + ": frozen backbone unchanged");
        }
        assertTrue(Files.exists(runs.resolve("zoo/_SUCCESS")));
    }
}
