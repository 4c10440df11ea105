package org.sparktransfer.jobs;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.sparktransfer.testing.LocalSpark;
import org.sparktransfer.testing.S3Server;
import org.sparktransfer.testing.TestImages;

/**
 * TrainJob then PredictJob through S3A against an S3-compatible server (s3proxy, in memory):
 * training reads an ImageFolder and writes its run to s3a://; scoring reads a CSV manifest on
 * s3a:// whose relative paths resolve against the manifest's folder, one of them missing.
 */
class S3PipelineTest {
    private static S3Server s3;
    private static LocalSpark spark;

    @BeforeAll
    static void start() throws Exception {
        s3 = S3Server.start();
        try {
            spark = LocalSpark.builder().hadoop(s3.s3aSettings()).start();
        } catch (RuntimeException e) {
            s3.close();
            throw e;
        }
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (spark != null) {
                spark.close();
            }
        } finally {
            if (s3 != null) {
                s3.close();
            }
        }
    }

    @Test
    void trainsFromFolderAndScoresFromManifestOnS3() throws Exception {
        FileSystem fs = FileSystem.get(URI.create(s3.uri("")), spark.spark().sparkContext().hadoopConfiguration());
        String data = s3.uri("data/train");
        TestImages.Folder images = TestImages.folder().classes("red", "green", "blue").perClass(8)
                .truncated("green/broken.png").writeTo(fs, new Path(data));
        assertTrue(images.root().equals(data), images.root());
        String manifest = data + "/manifest.csv";
        TestImages.writeFile(fs, new Path(manifest), images.manifestCsv() + "red/missing.png,red\n");

        PipelineRun.train(PipelineRun.args(PipelineRun.TINY_TRAINING,
                "--images", data, "--output", s3.uri("runs"), "--run-name", "s3-run"));
        String runDir = s3.uri("runs/s3-run");
        PipelineOutputs.assertTrainRun(spark.spark(), runDir, images, "decode/TRUNCATED");

        String out = s3.uri("scores");
        PipelineRun.predict("--model", runDir, "--manifest", manifest, "--output", out,
                "--run-date", "2026-02-01", "--run-id", "s3-test", "--batch-size", "8", "--top-k", "3");
        PipelineOutputs.assertPredictRun(spark.spark(), out, images, "2026-02-01", "s3-test", 3,
                Map.of("green/broken.png", "decode/TRUNCATED", "red/missing.png", "read/UNREADABLE"));
        assertTrue(fs.exists(new Path(out + "/predictions/run_date=2026-02-01/run_id=s3-test")),
                "predictions partition on S3");
    }
}
