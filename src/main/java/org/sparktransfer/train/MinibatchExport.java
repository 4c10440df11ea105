package org.sparktransfer.train;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.SerializableConfiguration;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparktransfer.io.DataSetFiles;

/**
 * One epoch's minibatches written to files for dl4j-spark's path-based training ({@code fitPaths}): what
 * {@code RDDTrainingApproach.Export} does, without its element-by-element serialisation. The files hold tensors
 * ({@link DataSetFiles}' bulk format) or, for image training, the encoded images that the workers' loader decodes
 * ({@link org.sparktransfer.io.ImageBatchFiles}). The executors write their partitions' minibatches under a directory of their own for the epoch;
 * the driver collects the paths (one short string per minibatch) and hands them to the training master, which
 * splits them into averaging rounds as it splits its own export. {@link #delete} removes the directory, with the
 * files of failed task attempts.
 */
final class MinibatchExport {
    private static final Logger LOG = LoggerFactory.getLogger(MinibatchExport.class);

    private final JavaSparkContext jsc;
    private final Path dir;
    private final List<String> paths;

    private MinibatchExport(JavaSparkContext jsc, Path dir, List<String> paths) {
        this.jsc = jsc;
        this.dir = dir;
        this.paths = paths;
    }

    /** Writes a minibatch to a file's stream (not closing it). */
    @FunctionalInterface
    interface Writer<T> extends java.io.Serializable {
        void write(T minibatch, OutputStream out) throws IOException;
    }

    /** Writes every minibatch of {@code data} in {@link DataSetFiles}' format; see {@link #write(JavaSparkContext, JavaRDD, Writer, Path, String)}. */
    static MinibatchExport write(JavaSparkContext jsc, JavaRDD<DataSet> data, Path root, String label) {
        return write(jsc, data, DataSetFiles::write, root, label);
    }

    /** Writes every minibatch of {@code data} under {@code root}/{@code label}-{random}/ (one Spark job). */
    static <T> MinibatchExport write(JavaSparkContext jsc, JavaRDD<T> data, Writer<T> writer, Path root, String label) {
        Path dir = new Path(root, label + "-" + UUID.randomUUID());
        String dirName = dir.toString();
        SerializableConfiguration conf = new SerializableConfiguration(jsc.hadoopConfiguration());
        List<String> paths = data.mapPartitionsWithIndex((partition, batches) -> {
            Path d = new Path(dirName);
            FileSystem fs = d.getFileSystem(conf.value());
            // Named by attempt: a retried or speculative attempt never meets another's files, and only the
            // successful attempt's paths reach the driver (the others go with the directory).
            TaskContext task = TaskContext.get();
            String prefix = "part-" + partition + "-a" + (task == null ? 0 : task.attemptNumber()) + "-";
            List<String> written = new ArrayList<>();
            while (batches.hasNext()) {
                T minibatch = batches.next();
                Path p = new Path(d, prefix + written.size() + ".bin");
                try (OutputStream out = fs.create(p, false)) {
                    writer.write(minibatch, out);
                }
                written.add(p.toString());
            }
            return written.iterator();
        }, true).collect();
        return new MinibatchExport(jsc, dir, paths);
    }

    /**
     * The minibatch files, as an RDD of paths for {@code fitPaths}, in one partition. dl4j-spark deals each
     * partition's elements over the averaging rounds one at a time in turn: from a single partition every round
     * gets the same number of minibatches, give or take one. From the export's own partitions, a round could get
     * more than its share (dl4j-spark's own workers drop the excess) or none at all (dl4j-spark then fails with a
     * NullPointerException). A list of short strings: one partition costs nothing.
     */
    JavaRDD<String> paths() {
        return paths(1);
    }

    /** The minibatch files in {@code slices} partitions of equal size (give or take one), in export order. */
    JavaRDD<String> paths(int slices) {
        return jsc.parallelize(paths, Math.min(Math.max(1, slices), Math.max(1, paths.size())));
    }

    int minibatches() {
        return paths.size();
    }

    /** Removes the epoch's files (a failure is logged: they are temporary and under the run's directory). */
    void delete() {
        try {
            dir.getFileSystem(jsc.hadoopConfiguration()).delete(dir, true);
        } catch (IOException e) {
            LOG.warn("Could not delete exported minibatches under {}: {}", dir, e.toString());
        }
    }
}
