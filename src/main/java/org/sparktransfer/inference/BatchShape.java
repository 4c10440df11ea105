package org.sparktransfer.inference;

/**
 * The batch size a forward pass runs at. Every new input shape makes oneDNN generate a new set of
 * kernels (and DL4J size new workspaces), which costs about as much as scoring a few images: full
 * batches always have the configured size, and a partial last batch is padded up to the next power of
 * two (at most the batch size), so a JVM sees at most log2(batch size) + 1 shapes however its
 * partitions are cut, at the price of computing fewer than twice the remaining images.
 */
final class BatchShape {
    private BatchShape() {}

    static int padded(int images, int batchSize) {
        if (images < 1 || images > batchSize) {
            throw new IllegalArgumentException(images + " images for batch size " + batchSize);
        }
        int p = Integer.highestOneBit(images);
        return p == images ? images : Math.min(batchSize, p << 1);
    }
}
