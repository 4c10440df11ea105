package org.sparktransfer.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.sparktransfer.io.DataSetFiles;
import org.sparktransfer.testing.LocalSpark;

/**
 * An epoch's export on real Spark (local mode with task retries): every minibatch lands in exactly one file and
 * reads back as written, a task that fails after writing part of its partition is retried without meeting its
 * own files (the driver gets only the successful attempt's paths), the paths are handed out in one partition or in
 * equal slices, and {@link MinibatchExport#delete} removes all.
 */
class MinibatchExportTest {

    @TempDir
    Path dir;

    @Test
    void retriedTaskExportsEachMinibatchOnce() throws Exception {
        try (LocalSpark spark = LocalSpark.builder().master("local[2,3]").start()) { // up to 3 attempts per task
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.spark().sparkContext());
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < 7; i++) {
                ids.add(i);
            }
            // Partition 1's first attempt fails after its first minibatch is written.
            JavaRDD<DataSet> data = jsc.parallelize(ids, 2).map(i -> {
                TaskContext t = TaskContext.get();
                if (t.partitionId() == 1 && t.attemptNumber() == 0 && i == 5) {
                    throw new IllegalStateException("injected failure after a written minibatch");
                }
                return new DataSet(Nd4j.valueArrayOf(new long[] {2, 3}, (float) i, DataType.FLOAT),
                        Nd4j.valueArrayOf(new long[] {2, 1}, (float) i, DataType.FLOAT));
            });
            MinibatchExport export = MinibatchExport.write(jsc, data, new org.apache.hadoop.fs.Path(dir.toUri()), "epoch-1");
            assertEquals(7, export.minibatches());
            List<String> paths = export.paths().collect();
            assertEquals(7, paths.size());
            List<Float> values = new ArrayList<>();
            for (String p : paths) {
                try (InputStream in = Files.newInputStream(Path.of(java.net.URI.create(p)))) {
                    DataSet ds = DataSetFiles.read(in, p);
                    values.add(ds.getFeatures().getFloat(0, 0));
                    assertEquals(ds.getFeatures().getFloat(1, 2), ds.getLabels().getFloat(1, 0));
                }
            }
            assertEquals(List.of(0f, 1f, 2f, 3f, 4f, 5f, 6f), values.stream().sorted().toList());
            // For dl4j-spark's rounds one partition (dealt evenly over the rounds); for one round a slice per worker.
            assertEquals(1, export.paths().getNumPartitions());
            assertEquals(List.of(3, 2, 2), export.paths(3).glom().collect().stream().map(List::size).sorted(
                    java.util.Comparator.reverseOrder()).toList());
            assertEquals(paths, export.paths(3).collect(), "the slices keep the order");
            try (Stream<Path> files = Files.walk(dir)) {
                assertTrue(files.anyMatch(f -> f.getFileName().toString().startsWith("part-1-a0-")),
                        "the failed attempt wrote a file before failing");
            }
            export.delete();
            try (Stream<Path> files = Files.walk(dir)) {
                assertFalse(files.anyMatch(f -> f.toString().endsWith(".bin")), "exported files left behind");
            }
        }
    }
}
