package org.sparktransfer.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.junit.jupiter.api.Test;
import org.sparktransfer.data.image.Preprocessing;

/** Which image a training crop belongs to: the path relative to the data root, not where the root lies. */
class TensorBatcherTest {
    static final Preprocessing PRE = Preprocessing.builder().resizeSize(28).cropSize(24).build();

    static byte[] noisePng(long seed) throws IOException {
        BufferedImage img = new BufferedImage(40, 30, BufferedImage.TYPE_INT_RGB);
        SplittableRandom rng = new SplittableRandom(seed);
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                img.setRGB(x, y, rng.nextInt(1 << 24));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    static float[] tensor(TensorBatcher.Mode mode, int epoch, Row row) {
        TensorBatch batch = new TensorBatcher(PRE, mode, 11, epoch, 4, 1_000_000).batches(List.of(row).iterator()).next();
        return batch.features().dup().data().asFloat();
    }

    @Test
    void trainingCropsFollowTheRelativePathWhereverTheRootIs() throws IOException {
        byte[] png = noisePng(3);
        Row onHdfs = RowFactory.create("hdfs://nn:8020/data/cats/a.png", 0, png, "cats/a.png");
        Row onS3 = RowFactory.create("s3a://bucket/copy/cats/a.png", 0, png, "cats/a.png");
        Row other = RowFactory.create("s3a://bucket/copy/cats/b.png", 0, png, "cats/b.png");
        float[] hdfs = tensor(TensorBatcher.Mode.TRAIN, 1, onHdfs);
        assertArrayEquals(hdfs, tensor(TensorBatcher.Mode.TRAIN, 1, onS3), "same relative path, same crop and flip");
        assertFalse(Arrays.equals(hdfs, tensor(TensorBatcher.Mode.TRAIN, 1, other)), "another image, other random numbers");
        assertFalse(Arrays.equals(hdfs, tensor(TensorBatcher.Mode.TRAIN, 2, onHdfs)), "another epoch, other random numbers");
        assertArrayEquals(hdfs, tensor(TensorBatcher.Mode.TRAIN, 1, onHdfs), "a rerun, the same");
    }

    @Test
    void withoutARelativePathThePathKeysTheAugmentation() throws IOException {
        byte[] png = noisePng(4);
        Row a = RowFactory.create("file:/data/cats/a.png", 0, png);
        Row b = RowFactory.create("file:/copy/cats/a.png", 0, png);
        TensorBatcher batcher = new TensorBatcher(PRE, TensorBatcher.Mode.TRAIN, 11, 1, 4, 1_000_000);
        assertNotEquals(batcher.augmentationSeed("file:/data/cats/a.png"), batcher.augmentationSeed("file:/copy/cats/a.png"));
        assertFalse(Arrays.equals(tensor(TensorBatcher.Mode.TRAIN, 1, a), tensor(TensorBatcher.Mode.TRAIN, 1, b)));
        // Evaluation is deterministic: no key at all.
        assertArrayEquals(tensor(TensorBatcher.Mode.EVAL, 0, a), tensor(TensorBatcher.Mode.EVAL, 3, b));
    }
}
