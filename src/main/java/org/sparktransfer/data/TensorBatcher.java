package org.sparktransfer.data;

import java.awt.image.BufferedImage;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;
import org.apache.spark.sql.Row;
import org.apache.spark.unsafe.Platform;
import org.apache.spark.unsafe.hash.Murmur3_x86_32;
import org.sparktransfer.data.image.EvalTransform;
import org.sparktransfer.data.image.ImageDecoder;
import org.sparktransfer.data.image.ImageRejectedException;
import org.sparktransfer.data.image.Preprocessing;
import org.sparktransfer.data.image.TrainTransform;

/**
 * Turns checked image rows {@code (path, label_index, content)} into minibatches of tensors on the
 * executor. Training batches use the random augmentation, seeded per (run seed, epoch, image) so a
 * rerun sees the same crops and every epoch different ones, and group a partition's images anew every epoch
 * ({@link EpochOrder}); evaluation batches are deterministic.
 * The image is named by its path relative to the data root where the rows carry one (column 3), so
 * the same data set copied to another root (HDFS to S3, or a test's temporary folder) trains the same.
 */
public final class TensorBatcher implements Serializable {
    private static final long serialVersionUID = 1L;

    public enum Mode { TRAIN, EVAL }

    private final Preprocessing preprocessing;
    private final Mode mode;
    private final long seed;
    private final int epoch;
    private final int batchSize;
    // Immutable and safe to share between the decoding threads.
    private final ImageDecoder decoder;
    private final EvalTransform eval;
    private final TrainTransform train;

    public TensorBatcher(Preprocessing preprocessing, Mode mode, long seed, int epoch, int batchSize, long maxPixels) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        this.preprocessing = preprocessing;
        this.mode = mode;
        this.seed = seed;
        this.epoch = epoch;
        this.batchSize = batchSize;
        this.decoder = new ImageDecoder(maxPixels);
        this.eval = new EvalTransform(preprocessing);
        this.train = new TrainTransform(preprocessing);
    }

    /**
     * Rows must have path at 0, label_index at 1 and content at 2; in TRAIN mode an optional relative_path
     * at 3 keys the augmentation (the path otherwise; EVAL mode reads no further column). The images of a batch are decoded and
     * transformed on the task's {@code spark.task.cpus} threads: a task that trains or scores with N ND4J
     * threads owns N cores, and decoding one image at a time would leave all but one idle while it runs.
     */
    public Iterator<TensorBatch> batches(Iterator<Row> rows) {
        org.sparktransfer.runtime.NativeRuntime.configureForTask();
        int threads = Math.min(batchSize, org.sparktransfer.runtime.NativeRuntime.taskCpus());
        ForkJoinPool pool = threads > 1 ? new ForkJoinPool(threads) : null;
        Iterator<List<Row>> chunks = minibatches(rows);
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                boolean more = chunks.hasNext();
                if (!more && pool != null) {
                    pool.shutdown();
                }
                return more;
            }

            @Override
            public TensorBatch next() {
                return decode(chunks.next(), pool);
            }
        };
    }

    /**
     * The rows grouped into minibatches as {@link #batches} groups them, undecoded (for exporting them). Training
     * takes a partition's rows in this epoch's order ({@link EpochOrder}, keyed as the augmentation is), so each
     * epoch makes other minibatches; evaluation keeps the order they come in.
     */
    public Iterator<List<Row>> minibatches(Iterator<Row> rows) {
        if (mode == Mode.TRAIN) {
            rows = EpochOrder.shuffle(rows, TensorBatcher::imageKey, seed, epoch);
        }
        return Iterators.chunks(rows, batchSize);
    }

    /** What names an image for its augmentation and its place in an epoch: the relative path where the row has one. */
    private static String imageKey(Row r) {
        return r.size() > 3 && !r.isNullAt(3) ? r.getString(3) : r.getString(0);
    }

    /**
     * One minibatch of the given rows (the same tensor {@link #batches} makes of them), decoded on up to
     * {@code threads} threads of a pool that ends with the call. Leaves the calling thread's native settings
     * alone: for threads beside the task's own, such as a training worker's prefetch thread.
     */
    public TensorBatch batch(List<Row> rows, int threads) {
        int t = Math.min(rows.size(), threads);
        ForkJoinPool pool = t > 1 ? new ForkJoinPool(t) : null;
        try {
            return decode(rows, pool);
        } finally {
            if (pool != null) {
                pool.shutdown();
            }
        }
    }

    private TensorBatch decode(List<Row> batch, ForkJoinPool pool) {
        int crop = preprocessing.cropSize();
        int perImage = 3 * crop * crop;
        int n = batch.size();
        float[] data = new float[n * perImage];
        IntConsumer fill = i -> {
            Row r = batch.get(i);
            String path = r.getString(0);
            BufferedImage image;
            try {
                image = decoder.decodeRgb((byte[]) r.get(2));
            } catch (ImageRejectedException e) {
                // Rows reach this point only after the decode check passed them.
                throw new IllegalStateException("image " + path + " decoded in the check but not now: " + e.getMessage(), e);
            }
            if (mode == Mode.TRAIN) {
                train.apply(image, augmentationSeed(imageKey(r)), data, i * perImage);
            } else {
                eval.apply(image, data, i * perImage);
            }
        };
        if (pool != null && n > 1) {
            pool.submit(() -> IntStream.range(0, n).parallel().forEach(fill)).join();
        } else {
            IntStream.range(0, n).forEach(fill);
        }
        List<String> paths = new ArrayList<>(n);
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            paths.add(batch.get(i).getString(0));
            labels[i] = batch.get(i).getInt(1);
        }
        return new TensorBatch(paths, labels, FloatTensors.of(data, n, 3, crop, crop));
    }

    long augmentationSeed(String imageKey) {
        byte[] b = imageKey.getBytes(StandardCharsets.UTF_8);
        int h = Murmur3_x86_32.hashUnsafeBytes(b, Platform.BYTE_ARRAY_OFFSET, b.length, (int) seed);
        return (seed * 0x9E3779B97F4A7C15L) ^ ((long) epoch << 32) ^ (h & 0xffffffffL);
    }
}
