package org.sparktransfer.inference;

/**
 * How many tasks score a listing. Each task loads (or borrows) a model and ends with a partial batch,
 * and Spark's file packing cuts a folder into partitions by bytes, not by batches: many small
 * partitions mean many partial batches. Coalesce to partitions of about {@link #BATCHES_PER_TASK} full
 * batches, but never below the task slots (all cores busy) nor above what the listing already has.
 */
final class ScoringPartitions {
    static final int BATCHES_PER_TASK = 32;

    private ScoringPartitions() {}

    /**
     * @param current partitions of the listing
     * @param images images listed, or -1 when unknown without reading them (a manifest)
     * @param slots tasks the cluster runs at once (cores / spark.task.cpus)
     */
    static int count(int current, long images, int slots, int batchSize) {
        if (images < 0) {
            return current;
        }
        long bySize = images / ((long) BATCHES_PER_TASK * batchSize);
        return (int) Math.max(1, Math.min(current, Math.max(slots, bySize)));
    }
}
