package org.sparktransfer.train;

import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.BlockManager;
import org.apache.spark.storage.BlockResult;
import org.apache.spark.storage.BroadcastBlockId;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.sparktransfer.runtime.RoundMemory;
import scala.Option;
import scala.collection.Iterator;

/**
 * Frees the network copies dl4j-spark broadcasts for its averaging rounds.
 *
 * <p>{@code ParameterAveragingTrainingMaster} broadcasts a {@link NetBroadcastTuple} (configuration,
 * parameters, updater state) for every averaging round and never unpersists it. Spark's cleaner would
 * remove it once unreachable, but the jobs must run with {@code spark.cleaner.referenceTracking=false}
 * (see {@code SparkSessions}), so every round's copy stays in the driver's block manager (and in every
 * executor's): for ResNet-18 with Nesterov momentum about 90 MB per round, on the heap until storage
 * memory is full and then spilled to local disk. After a fit has returned its rounds are over, so
 * {@link #release} removes the broadcasts created since {@link #mark} whose value is a
 * {@code NetBroadcastTuple}, on the driver and the executors. Other broadcasts in that range (Spark's
 * task binaries, Hadoop configurations cached by dl4j-spark and reused by later epochs) are left alone.
 * Removing a {@code NetBroadcastTuple} closes nothing: it is not {@code AutoCloseable}, and the
 * network's own arrays stay with the network. Outside local mode {@link #release} then runs a full
 * collection on the driver ({@link RoundMemory#collect()}), so that the native buffers of the rounds' arrays
 * are freed now rather than at the next old-generation collection.
 */
final class RoundBroadcasts {
    private RoundBroadcasts() {}

    /** An id below every broadcast created after this call. */
    static long mark(JavaSparkContext jsc) {
        Broadcast<Boolean> marker = jsc.broadcast(Boolean.TRUE);
        long id = marker.id();
        marker.destroy();
        return id;
    }

    /** Removes the network broadcasts created after {@code mark}; returns how many. */
    static int release(JavaSparkContext jsc, long mark) {
        long end = mark(jsc);
        BlockManager blocks = SparkEnv.get().blockManager();
        int released = 0;
        for (long id = mark + 1; id < end; id++) {
            Option<BlockResult> local = blocks.getLocalValues(new BroadcastBlockId(id, ""));
            if (local.isEmpty()) {
                continue;
            }
            boolean network = false;
            // Reading to the end releases the block's read lock (Spark's completion iterator).
            Iterator<Object> values = local.get().data();
            while (values.hasNext()) {
                network |= values.next() instanceof NetBroadcastTuple;
            }
            if (network) {
                SparkEnv.get().broadcastManager().unbroadcast(id, true, false);
                released++;
            }
        }
        if (RoundMemory.enabled() && !jsc.isLocal()) {
            // The driver's share of the rounds (workers' results, their sums, the broadcast values) is unreachable
            // now; only a collection makes ND4J free its native buffers (see RoundMemory). In local mode the
            // driver is the executor, whose next round starts with the same collection.
            RoundMemory.collect();
        }
        return released;
    }
}
