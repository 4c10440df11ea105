package org.sparktransfer.data;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.function.Function;
import org.apache.spark.unsafe.Platform;
import org.apache.spark.unsafe.hash.Murmur3_x86_32;

/**
 * The order in which a training task takes its rows in one epoch: a permutation of the partition drawn from
 * (run seed, epoch, each row's key). Without it a partition's rows come in listing order every epoch and form
 * the same minibatches every epoch; reshuffled, every epoch groups the images differently (SGD's reshuffling,
 * what a PyTorch {@code DataLoader(shuffle=True)} does). The order depends only on the keys, not on the order
 * the rows arrive in, so a rerun or a resumed run repeats it.
 *
 * <p>The shuffle is within the task's partition: reshuffling across executors would move every image's bytes
 * through a Spark shuffle each epoch. To reorder its rows a task holds its partition (a folder's partitions are
 * at most {@code spark.sql.files.maxPartitionBytes} of files, 128 MB by default).
 */
public final class EpochOrder {
    /** Mixed into the hash so that the order is independent of the augmentation drawn from the same seed and key. */
    private static final long ORDER_SALT = 0x6F72646572L;

    private EpochOrder() {
    }

    /** The rows of {@code rows} in this epoch's order; rows with equal keys keep their relative order. */
    public static <T> Iterator<T> shuffle(Iterator<T> rows, Function<T, String> key, long seed, int epoch) {
        List<Keyed<T>> all = new ArrayList<>();
        while (rows.hasNext()) {
            T row = rows.next();
            all.add(new Keyed<>(rank(key.apply(row), seed, epoch), row));
        }
        all.sort(Comparator.comparingLong(Keyed::rank)); // stable: equal ranks keep the arrival order
        return all.stream().map(Keyed::row).iterator();
    }

    /** The sort key of one row: a 64-bit hash of its key under (seed, epoch). */
    static long rank(String key, long seed, int epoch) {
        byte[] b = key.getBytes(StandardCharsets.UTF_8);
        long mixed = seed * 0x9E3779B97F4A7C15L + epoch * 0xBF58476D1CE4E5B9L + ORDER_SALT;
        int lo = Murmur3_x86_32.hashUnsafeBytes(b, Platform.BYTE_ARRAY_OFFSET, b.length, (int) mixed);
        int hi = Murmur3_x86_32.hashUnsafeBytes(b, Platform.BYTE_ARRAY_OFFSET, b.length, (int) (mixed >>> 32) ^ lo);
        return ((long) hi << 32) | (lo & 0xffffffffL);
    }

    private record Keyed<T>(long rank, T row) {
    }
}
