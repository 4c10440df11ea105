package org.sparktransfer.data;

import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;
import org.sparktransfer.data.image.EvalTransform;
import org.sparktransfer.data.image.ImageDecoder;
import org.sparktransfer.data.image.Preprocessing;

/**
 * Decodes a chunk of encoded images and applies the evaluation transform (resize, centre crop,
 * normalise), each image into its own slot, on {@code threads} threads. One decode serves both the
 * check (a failure comes back as the image's {@link RejectCause}) and the tensor, so scoring never
 * decodes an image twice. A task that scores with N ND4J threads owns N cores: decoding one image at a
 * time would leave all but one idle while it runs.
 */
public final class ParallelEvalDecoder implements AutoCloseable {
    private final ImageDecoder decoder;
    private final EvalTransform transform;
    private final int floatsPerImage;
    private final float[][] slots;
    private final ForkJoinPool pool;

    public ParallelEvalDecoder(Preprocessing preprocessing, long maxPixels, int chunkSize, int threads) {
        this.decoder = new ImageDecoder(maxPixels);
        this.transform = new EvalTransform(preprocessing);
        int crop = preprocessing.cropSize();
        this.floatsPerImage = 3 * crop * crop;
        this.slots = new float[chunkSize][floatsPerImage];
        int t = Math.min(chunkSize, threads);
        this.pool = t > 1 ? new ForkJoinPool(t) : null;
    }

    public int chunkSize() {
        return slots.length;
    }

    public int floatsPerImage() {
        return floatsPerImage;
    }

    /**
     * Decodes {@code contents.get(i)} (null = no bytes) into {@link #slot(int) slot(i)}.
     *
     * @return per image, null when its slot holds its tensor, otherwise why it was rejected
     */
    public RejectCause[] decode(List<byte[]> contents) {
        int n = contents.size();
        if (n > slots.length) {
            throw new IllegalArgumentException(n + " images for " + slots.length + " slots");
        }
        RejectCause[] causes = new RejectCause[n];
        IntConsumer one = i -> {
            byte[] bytes = contents.get(i);
            try {
                transform.apply(decoder.decodeRgb(bytes == null ? new byte[0] : bytes), slots[i], 0);
            } catch (Exception | OutOfMemoryError e) {
                causes[i] = RejectCause.decodeFailure(e);
            }
        };
        if (pool != null && n > 1) {
            pool.submit(() -> IntStream.range(0, n).parallel().forEach(one)).join();
        } else {
            IntStream.range(0, n).forEach(one);
        }
        return causes;
    }

    public float[] slot(int i) {
        return slots[i];
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdown();
        }
    }
}
