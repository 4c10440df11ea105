package org.sparktransfer.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The batch shapes a scoring task runs at and how many tasks a listing is scored in. */
class ScoringShapeTest {

    @Test
    void fullBatchesKeepTheirSizeAndPartialOnesRoundUpToAPowerOfTwo() {
        assertEquals(32, BatchShape.padded(32, 32));
        assertEquals(1, BatchShape.padded(1, 32));
        assertEquals(4, BatchShape.padded(3, 32));
        assertEquals(16, BatchShape.padded(16, 32));
        assertEquals(32, BatchShape.padded(17, 32));
        assertEquals(24, BatchShape.padded(20, 24), "never above the batch size");
        Set<Integer> shapes = new TreeSet<>();
        for (int n = 1; n <= 32; n++) {
            shapes.add(BatchShape.padded(n, 32));
        }
        assertEquals(Set.of(1, 2, 4, 8, 16, 32), shapes, "log2(32) + 1 shapes at most");
        assertThrows(IllegalArgumentException.class, () -> BatchShape.padded(0, 32));
        assertThrows(IllegalArgumentException.class, () -> BatchShape.padded(33, 32));
    }

    @Test
    void listingsAreScoredInFewLargeTasksButNeverFewerThanTheSlots() {
        assertEquals(1, ScoringPartitions.count(6, 192, 1, 32), "one slot, a small folder: one task");
        assertEquals(2, ScoringPartitions.count(6, 12, 2, 5), "every slot busy");
        assertEquals(10, ScoringPartitions.count(400, 10 * 32 * ScoringPartitions.BATCHES_PER_TASK, 4, 32));
        assertEquals(3, ScoringPartitions.count(3, 1_000_000, 4, 32), "coalescing never adds partitions");
        assertEquals(8, ScoringPartitions.count(8, -1, 1, 32), "a manifest's size is unknown: left as it is");
    }
}
