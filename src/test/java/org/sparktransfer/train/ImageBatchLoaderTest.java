package org.sparktransfer.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.deeplearning4j.core.loader.DataSetLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.common.loader.LocalFileSourceFactory;
import org.nd4j.linalg.dataset.DataSet;
import org.sparktransfer.config.TrainConfig;
import org.sparktransfer.config.TrainingMasterSettings;
import org.sparktransfer.data.ImageSource;
import org.sparktransfer.data.image.Preprocessing;
import org.sparktransfer.model.FreezePolicy;
import org.sparktransfer.model.ResNetArch;
import org.sparktransfer.runtime.NativeRuntime;
import org.sparktransfer.testing.LocalSpark;

/**
 * An image epoch exported as encoded minibatches (real local Spark) and decoded by the workers' loader gives
 * exactly the minibatches the epoch's training RDD makes in the tasks: same grouping, same augmented pixels,
 * same labels, in the same order; the loader survives Java serialisation as Spark ships it, and runs serial on
 * a thread of its own without touching a task thread's OpenMP setting.
 */
class ImageBatchLoaderTest {
    @TempDir
    Path dir;

    static byte[] noisePng(long seed, int w, int h) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        SplittableRandom rng = new SplittableRandom(seed);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, rng.nextInt(1 << 24));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    static int ompMaxThreads() {
        return org.nd4j.nativeblas.NativeOpsHolder.getInstance().getDeviceNativeOps().ompGetMaxThreads();
    }

    static TrainConfig config(int batch) {
        Preprocessing pre = Preprocessing.builder().resizeSize(28).cropSize(24).build();
        TrainingMasterSettings master = new TrainingMasterSettings(1, batch, 5, 2,
                TrainingMasterSettings.Repartition.NEVER, TrainingMasterSettings.RepartitionStrategy.BALANCED,
                TrainingMasterSettings.RddApproach.EXPORT, "MEMORY_ONLY", true, null);
        return new TrainConfig(ImageSource.folder("file:/data", ImageSource.DEFAULT_EXTENSIONS), "file:/out", "run",
                ResNetArch.RESNET18, null, FreezePolicy.NONE, pre, 3, OptimizerKind.ADAM, 0.9, 0.0,
                new LearningRateSchedule(LearningRateSchedule.Kind.CONSTANT, 1e-3, 0, 3, 1, 0.1), master, 0.0, 17,
                0.0, 10_000_000, 0, TrainConfig.StoppingMetric.ACCURACY, TrainConfig.ClassWeights.NONE, false, false);
    }

    @Test
    void exportedEpochLoadsAsTheTasksMinibatches() throws Exception {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 11; i++) {
            String relative = "class" + (i % 3) + "/img" + i + ".png";
            rows.add(RowFactory.create("file:/data/" + relative, i % 3, noisePng(i, 30 + 3 * i, 26 + 2 * i), relative));
        }
        try (LocalSpark spark = LocalSpark.start()) {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.spark().sparkContext());
            JavaRDD<Row> train = jsc.parallelize(rows, 2); // 5 + 6 rows: batches of 4, 1, 4, 2
            ImageEpochData data = new ImageEpochData(config(4), train, jsc.emptyRDD(), 3);
            int epoch = 2;
            List<DataSet> inTasks = data.train(epoch).collect();
            MinibatchExport export = data.exportTrain(jsc, epoch, new org.apache.hadoop.fs.Path(dir.toUri()), "epoch-3");
            List<String> paths = export.paths().collect();
            assertEquals(inTasks.size(), paths.size());
            assertEquals(4, paths.size());

            ByteArrayOutputStream shipped = new ByteArrayOutputStream();
            try (ObjectOutputStream out = new ObjectOutputStream(shipped)) {
                out.writeObject(data.trainLoader(epoch));
            }
            DataSetLoader loader;
            try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(shipped.toByteArray()))) {
                loader = (DataSetLoader) in.readObject();
            }
            for (int i = 0; i < paths.size(); i++) {
                DataSet loaded = loader.load(new LocalFileSourceFactory().getSource(Path.of(java.net.URI.create(paths.get(i))).toString()));
                DataSet expected = inTasks.get(i);
                assertArrayEquals(expected.getFeatures().shape(), loaded.getFeatures().shape(), "minibatch " + i);
                assertArrayEquals(expected.getFeatures().dup().data().asFloat(), loaded.getFeatures().dup().data().asFloat(),
                        "minibatch " + i + ": the task's augmented pixels");
                assertEquals(expected.getLabels(), loaded.getLabels(), "minibatch " + i + ": labels");
            }
            // dl4j-spark's prefetch thread (no task context) loads with one OpenMP thread, so it opens no pool
            // beside the trainer's; on a task's own thread (--prefetch 0) the task's setting stays.
            DataSetLoader shippedLoader = loader;
            String first = Path.of(java.net.URI.create(paths.get(0))).toString();
            int[] offTask = new int[1];
            Thread prefetch = new Thread(() -> {
                NativeRuntime.openMpThreadsOnThisThread(2);
                try {
                    shippedLoader.load(new LocalFileSourceFactory().getSource(first));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                offTask[0] = ompMaxThreads();
            });
            prefetch.start();
            prefetch.join();
            assertEquals(1, offTask[0], "OpenMP threads on the prefetch thread after a load");
            List<Integer> onTask = jsc.parallelize(List.of(first), 1).map(f -> {
                NativeRuntime.openMpThreadsOnThisThread(2);
                shippedLoader.load(new LocalFileSourceFactory().getSource(f));
                return ompMaxThreads();
            }).collect();
            assertEquals(List.of(2), onTask, "OpenMP threads on a task thread after a load");

            // Another epoch's loader augments differently (the export holds the images, not one epoch's crops).
            DataSet otherEpoch = data.trainLoader(epoch + 1).load(
                    new LocalFileSourceFactory().getSource(Path.of(java.net.URI.create(paths.get(0))).toString()));
            assertTrue(!java.util.Arrays.equals(inTasks.get(0).getFeatures().dup().data().asFloat(),
                    otherEpoch.getFeatures().dup().data().asFloat()), "epoch 3's crops equal epoch 2's");
            export.delete();
        }
    }

    @Test
    void theDecoderTakesTheTasksCoresOnlyWhenNoStepRunsBesideIt() {
        org.junit.jupiter.api.Assumptions.assumeTrue(org.nd4j.linalg.factory.Nd4j.getEnvironment().isCPU());
        assertEquals(1, ImageBatchLoader.decodeThreads(true), "the prefetch thread decodes beside the steps on one thread");
        assertEquals(Runtime.getRuntime().availableProcessors(), ImageBatchLoader.decodeThreads(false),
                "with --prefetch 0 the task's own thread decodes between steps on all its cores (outside Spark: the machine's)");
    }
}
