package org.sparktransfer.jobs;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.sparktransfer.testing.LocalSpark;
import org.sparktransfer.testing.MiniHdfs;
import org.sparktransfer.testing.TestImages;

/**
 * TrainJob then PredictJob with every input and output on a real HDFS (MiniDFSCluster): images,
 * run directory, model artifact, the scoring tables; a truncated PNG among the images is rejected
 * by both jobs instead of failing them.
 */
class HdfsPipelineTest {
    private static MiniHdfs hdfs;
    private static LocalSpark spark;

    @BeforeAll
    static void start() throws Exception {
        hdfs = MiniHdfs.start();
        try {
            spark = LocalSpark.start();
        } catch (RuntimeException e) {
            hdfs.close();
            throw e;
        }
    }

    @AfterAll
    static void stop() {
        try {
            if (spark != null) {
                spark.close();
            }
        } finally {
            if (hdfs != null) {
                hdfs.close();
            }
        }
    }

    @Test
    void trainsAndScoresOnHdfs() throws Exception {
        String base = hdfs.uri();
        FileSystem fs = hdfs.fileSystem();
        TestImages.Folder images = TestImages.folder().classes("red", "green", "blue").perClass(8)
                .truncated("green/broken.png").writeTo(fs, new Path(base + "/data/train"));
        assertTrue(images.root().startsWith("hdfs://127.0.0.1:"), images.root());

        PipelineRun.train(PipelineRun.args(PipelineRun.TINY_TRAINING,
                "--images", base + "/data/train", "--output", base + "/runs", "--run-name", "hdfs-run"));
        String runDir = base + "/runs/hdfs-run";
        PipelineOutputs.assertTrainRun(spark.spark(), runDir, images, "decode/TRUNCATED");
        // EXPORT (the default approach) writes its minibatches under <run>/tmp-export and deletes them after the epoch.
        Path export = new Path(runDir + "/tmp-export");
        assertTrue(!fs.exists(export) || !fs.listFiles(export, true).hasNext(), "export files left in " + export);

        PipelineRun.predict("--model", runDir + "/model", "--images", base + "/data/train",
                "--output", base + "/scores", "--run-date", "2026-01-15", "--run-id", "hdfs-test",
                "--batch-size", "8", "--top-k", "2");
        PipelineOutputs.assertPredictRun(spark.spark(), base + "/scores", images, "2026-01-15", "hdfs-test", 2,
                Map.of("green/broken.png", "decode/TRUNCATED"));
        assertTrue(fs.exists(new Path("/scores/summary/run_date=2026-01-15/run_id=hdfs-test")),
                "summary partition on HDFS");
    }
}
