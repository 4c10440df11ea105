package org.sparktransfer.data;

import java.awt.image.BufferedImage;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.sql.Row;
import org.apache.spark.unsafe.Platform;
import org.apache.spark.unsafe.hash.Murmur3_x86_32;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.sparktransfer.data.image.EvalTransform;
import org.sparktransfer.data.image.ImageDecoder;
import org.sparktransfer.data.image.ImageRejectedException;
import org.sparktransfer.data.image.Preprocessing;
import org.sparktransfer.data.image.TrainTransform;

/**
 * Turns checked image rows {@code (path, label_index, content)} into minibatches of tensors on the
 * executor. Training batches use the random augmentation, seeded per (run seed, epoch, image) so a
 * rerun sees the same crops and every epoch different ones; evaluation batches are deterministic.
 */
public final class TensorBatcher implements Serializable {
    private static final long serialVersionUID = 1L;

    public enum Mode { TRAIN, EVAL }

    private final Preprocessing preprocessing;
    private final Mode mode;
    private final long seed;
    private final int epoch;
    private final int batchSize;
    private final long maxPixels;

    public TensorBatcher(Preprocessing preprocessing, Mode mode, long seed, int epoch, int batchSize, long maxPixels) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        this.preprocessing = preprocessing;
        this.mode = mode;
        this.seed = seed;
        this.epoch = epoch;
        this.batchSize = batchSize;
        this.maxPixels = maxPixels;
    }

    /** Rows must have path at 0, label_index at 1 and content at 2. */
    public Iterator<TensorBatch> batches(Iterator<Row> rows) {
        org.sparktransfer.runtime.NativeRuntime.configureForTask();
        ImageDecoder decoder = new ImageDecoder(maxPixels);
        EvalTransform eval = new EvalTransform(preprocessing);
        TrainTransform train = new TrainTransform(preprocessing);
        int crop = preprocessing.cropSize();
        int perImage = 3 * crop * crop;
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public TensorBatch next() {
                if (!rows.hasNext()) {
                    throw new NoSuchElementException();
                }
                List<String> paths = new ArrayList<>(batchSize);
                List<Integer> labels = new ArrayList<>(batchSize);
                float[] data = new float[batchSize * perImage];
                while (rows.hasNext() && paths.size() < batchSize) {
                    Row r = rows.next();
                    String path = r.getString(0);
                    BufferedImage image;
                    try {
                        image = decoder.decodeRgb((byte[]) r.get(2));
                    } catch (ImageRejectedException e) {
                        // Rows reach this point only after the decode check passed them.
                        throw new IllegalStateException("image " + path + " decoded in the check but not now: " + e.getMessage(), e);
                    }
                    int offset = paths.size() * perImage;
                    if (mode == Mode.TRAIN) {
                        train.apply(image, augmentationSeed(path), data, offset);
                    } else {
                        eval.apply(image, data, offset);
                    }
                    paths.add(path);
                    labels.add(r.getInt(1));
                }
                int n = paths.size();
                float[] exact = n == batchSize ? data : java.util.Arrays.copyOf(data, n * perImage);
                int[] labelArray = labels.stream().mapToInt(Integer::intValue).toArray();
                return new TensorBatch(paths, labelArray,
                        Nd4j.create(exact, new long[] {n, 3, crop, crop}, 'c').castTo(DataType.FLOAT));
            }
        };
    }

    long augmentationSeed(String path) {
        byte[] b = path.getBytes(StandardCharsets.UTF_8);
        int h = Murmur3_x86_32.hashUnsafeBytes(b, Platform.BYTE_ARRAY_OFFSET, b.length, (int) seed);
        return (seed * 0x9E3779B97F4A7C15L) ^ ((long) epoch << 32) ^ (h & 0xffffffffL);
    }
}
