package org.sparktransfer.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.TransferLearningHelper;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.sparktransfer.model.FreezePolicy;
import org.sparktransfer.model.ResNetArch;
import org.sparktransfer.model.ResNetFactory;
import org.sparktransfer.runtime.NativeRuntime;

/**
 * Would caching the last frozen stage's output pay off for partial freezing? For ResNet-18 with
 * {@code --freeze layer3} it measures, per image: (a) an uncached training step through the whole
 * graph (frozen layers forward only), (b) the one-off forward pass through the frozen part that a
 * cache would store, (c) a training step of layer4 + head alone from the stored activations (DL4J's
 * {@link TransferLearningHelper#fitFeaturized}), and (d) the bytes per image of those activations as
 * Snappy Parquet ({@code array<float>}, like the feature cache) and the time to read them back.
 *
 * <p>{@code java <jvm flags> -cp <classpath> org.sparktransfer.bench.PartialFreezeCacheBenchmark [size] [batch] [steps] [freeze]}
 * (defaults 224, 16, 5, layer3).
 */
public final class PartialFreezeCacheBenchmark {
    private PartialFreezeCacheBenchmark() {}

    public static void main(String[] args) throws IOException {
        int size = args.length > 0 ? Integer.parseInt(args[0]) : 224;
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 16;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        FreezePolicy freeze = FreezePolicy.fromCliName(args.length > 3 ? args[3] : "layer3");
        int threads = Runtime.getRuntime().availableProcessors();
        NativeRuntime.configure(threads);
        int classes = 10;
        ComputationGraph full = freeze.apply(ResNetFactory.build(ResNetArch.RESNET18, classes, size, 42));
        Nd4j.getRandom().setSeed(7);
        INDArray x = Nd4j.rand(DataType.FLOAT, batch, 3, size, size).subi(0.5).muli(4);
        INDArray y = Nd4j.zeros(DataType.FLOAT, batch, classes);
        for (int i = 0; i < batch; i++) {
            y.putScalar(i, i % classes, 1f);
        }
        DataSet ds = new DataSet(x, y);

        double fullStep = perImage(steps, batch, () -> full.fit(ds));
        TransferLearningHelper helper = new TransferLearningHelper(full);
        DataSet[] featurized = new DataSet[1];
        double forward = perImage(steps, batch, () -> featurized[0] = helper.featurize(ds));
        INDArray act = featurized[0].getFeatures();
        double headStep = perImage(steps, batch, () -> helper.fitFeaturized(featurized[0]));

        long floats = act.length() / batch;
        Path dir = Files.createTempDirectory("partial-freeze-bench");
        double[] parquet = parquetBytesAndReadSeconds(dir, act, batch);
        deleteTree(dir);

        System.out.printf("%nResNet-18 at %d px, --freeze %s, batch %d, %d timed steps, %d threads; frozen output %s%n",
                size, freeze.cliName(), batch, steps, threads, Arrays.toString(Arrays.copyOfRange(act.shape(), 1, act.rank())));
        System.out.println("| per image | ms |");
        System.out.println("|---|---|");
        System.out.printf("| (a) uncached training step, whole graph | %.1f |%n", fullStep * 1e3);
        System.out.printf("| (b) frozen part forward (building the cache, once) | %.1f |%n", forward * 1e3);
        System.out.printf("| (c) training step of %s from cached activations | %.1f |%n", "the unfrozen part", headStep * 1e3);
        System.out.printf("| (d) reading the cached activations back from Parquet | %.1f |%n", parquet[1] * 1e3);
        System.out.printf("Epoch speed-up on the cache (a / (c + d)): %.2fx; cache pays for itself after %.1f epochs%n",
                fullStep / (headStep + parquet[1]), (fullStep + forward) / Math.max(1e-9, fullStep - headStep - parquet[1]));
        System.out.printf("Storage: %d floats = %.0f KiB per image raw, %.0f KiB as Snappy Parquet; %.0f GB per million images%n",
                floats, floats * 4 / 1024.0, parquet[0] / 1024, parquet[0] * 1e6 / 1e9);
    }

    private static double perImage(int steps, int batch, Runnable step) {
        step.run();
        step.run();
        long t = System.nanoTime();
        for (int i = 0; i < steps; i++) {
            step.run();
        }
        return (System.nanoTime() - t) / 1e9 / steps / batch;
    }

    /** Writes the batch's activations (plus a perturbed copy per row, 4 copies) as Parquet; returns bytes per image and read seconds per image. */
    private static double[] parquetBytesAndReadSeconds(Path dir, INDArray act, int batch) throws IOException {
        SparkSession spark = SparkSession.builder().master("local[*]").appName("PartialFreezeCacheBenchmark")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").config("spark.sql.parquet.compression.codec", "snappy")
                .getOrCreate();
        try {
            StructType schema = new StructType().add("label", DataTypes.IntegerType, false)
                    .add("features", new ArrayType(DataTypes.FloatType, false), false);
            List<Row> rows = new ArrayList<>();
            int copies = 4;
            for (int c = 0; c < copies; c++) {
                for (int i = 0; i < batch; i++) {
                    float[] f = Nd4j.toFlattened(act.slice(i)).toFloatVector();
                    if (c > 0) {
                        for (int k = 0; k < f.length; k++) {
                            f[k] *= 1f + 0.01f * c;
                        }
                    }
                    rows.add(RowFactory.create(i, f));
                }
            }
            int n = rows.size();
            String out = dir.resolve("activations").toString();
            spark.createDataFrame(rows, schema).coalesce(1).write().parquet(out);
            long bytes;
            try (Stream<Path> s = Files.walk(dir.resolve("activations"))) {
                bytes = s.filter(p -> p.getFileName().toString().endsWith(".parquet")).mapToLong(p -> p.toFile().length()).sum();
            }
            spark.read().parquet(out).collectAsList();
            long t = System.nanoTime();
            Dataset<Row> read = spark.read().parquet(out);
            long sum = 0;
            for (Row r : read.collectAsList()) {
                sum += r.getList(1).size();
            }
            double seconds = (System.nanoTime() - t) / 1e9;
            if (sum != (long) n * act.length() / batch) {
                throw new IllegalStateException("read back " + sum + " floats");
            }
            return new double[] {(double) bytes / n, seconds / n};
        } finally {
            spark.stop();
        }
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(q -> q.toFile().delete());
        }
    }
}
