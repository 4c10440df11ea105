package org.sparktransfer.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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

/**
 * Which image a training crop belongs to: the path relative to the data root, not where the root lies; and the
 * minibatches a partition makes in each epoch.
 */
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

    /** Paths of each minibatch {@code minibatches} makes of 20 rows (no image is decoded). */
    static List<List<String>> grouping(TensorBatcher.Mode mode, int epoch, List<Row> rows) {
        List<List<String>> out = new java.util.ArrayList<>();
        new TensorBatcher(PRE, mode, 11, epoch, 4, 1_000_000).minibatches(rows.iterator())
                .forEachRemaining(b -> out.add(b.stream().map(r -> r.getString(3)).toList()));
        return out;
    }

    @Test
    void everyTrainingEpochGroupsThePartitionAnewAndARerunRepeatsIt() {
        List<Row> rows = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) {
            rows.add(RowFactory.create("hdfs://nn/data/c/" + i + ".png", i % 3, new byte[0], "c/" + i + ".png"));
        }
        List<List<String>> epoch1 = grouping(TensorBatcher.Mode.TRAIN, 1, rows);
        List<String> listed = rows.stream().map(r -> r.getString(3)).toList();
        assertEquals(5, epoch1.size());
        epoch1.forEach(b -> assertEquals(4, b.size()));
        assertEquals(new java.util.TreeSet<>(listed), new java.util.TreeSet<>(epoch1.stream().flatMap(List::stream).toList()),
                "every row once");
        assertNotEquals(listed, epoch1.stream().flatMap(List::stream).toList(), "not the listing order");
        assertEquals(epoch1, grouping(TensorBatcher.Mode.TRAIN, 1, rows), "a rerun: the same minibatches");
        List<Row> reversed = new java.util.ArrayList<>(rows);
        java.util.Collections.reverse(reversed);
        assertEquals(epoch1, grouping(TensorBatcher.Mode.TRAIN, 1, reversed), "the order follows the keys, not the arrival");
        List<List<String>> epoch2 = grouping(TensorBatcher.Mode.TRAIN, 2, rows);
        assertNotEquals(new java.util.HashSet<>(epoch1.stream().map(java.util.HashSet::new).toList()),
                new java.util.HashSet<>(epoch2.stream().map(java.util.HashSet::new).toList()), "another epoch, other minibatches");
        assertEquals(List.of(listed.subList(0, 4), listed.subList(4, 8), listed.subList(8, 12), listed.subList(12, 16),
                listed.subList(16, 20)), grouping(TensorBatcher.Mode.EVAL, 0, rows), "evaluation keeps the listed order");
    }
}
