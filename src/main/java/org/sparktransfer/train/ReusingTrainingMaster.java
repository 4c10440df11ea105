package org.sparktransfer.train;

import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.WorkerConfiguration;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingWorker;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * dl4j-spark's {@link ParameterAveragingTrainingMaster} (same splits, broadcasts, averaging and
 * updater handling) whose workers reuse their JVM's network between averaging rounds
 * ({@link ReusingTrainingWorker}). With training statistics or listeners it hands out dl4j-spark's own
 * worker, which records them. {@code -Dsparktransfer.workerNetworks=fresh} on the driver restores
 * dl4j-spark's master and workers everywhere (for comparison).
 *
 * <p>Its workers fit every minibatch of their share of a round. dl4j-spark's own stop after the averaging
 * frequency's count and drop the rest without a word; its random splits are balanced within each partition of
 * the data, not across them, so with several partitions a round's split can hold more than workers x frequency
 * minibatches (ReusingTrainingMasterTest: 5 minibatches in partitions of 2 and 3, one worker averaging every 2:
 * dl4j-spark's worker trains 4).
 *
 * <p>Its rounds are never empty (unless training statistics are collected: those runs go through dl4j-spark's own
 * loop). dl4j-spark deals each partition's minibatches over the rounds on its own, so
 * when every partition holds fewer minibatches than there are rounds (small data in many partitions, a small
 * averaging frequency) a round can get none from any of them, and its {@code processResults} then fails with a
 * NullPointerException on the missing result. With {@code --rdd-approach DIRECT} (the RDD of minibatches itself)
 * this master counts each partition and, where that could happen, deals from one partition holding them all.
 */
final class ReusingTrainingMaster extends ParameterAveragingTrainingMaster {
    static final String PROPERTY = "sparktransfer.workerNetworks";
    /** dl4j-spark's workers read a maximum of 0 or less as none. */
    static final int NO_MINIBATCH_CAP = 0;

    static boolean enabled() {
        return !"fresh".equals(System.getProperty(PROPERTY));
    }

    ReusingTrainingMaster(Builder builder) {
        super(builder);
    }

    /**
     * dl4j-spark's direct training (persist, count, split into rounds, one round per split), except that the count
     * is taken per partition and the rounds are dealt from a single partition where dl4j-spark's dealing could
     * leave one empty ({@link #someRoundCanBeEmpty}). The splits themselves are dl4j-spark's, with the same seeds.
     */
    @Override
    protected void executeTrainingDirect(SparkComputationGraph graph, JavaRDD<MultiDataSet> data) {
        if (collectTrainingStats) {
            super.executeTrainingDirect(graph, data);
            return;
        }
        if (storageLevel != null) {
            data.persist(storageLevel);
        }
        List<Long> sizes = data.mapPartitions(ReusingTrainingMaster::countOf).collect();
        long total = sizes.stream().mapToLong(Long::longValue).sum();
        if (total == 0) {
            throw new IllegalArgumentException("no minibatches to train on");
        }
        int rounds = rounds(total, getNumDataSetObjectsPerSplit(rddDataSetNumExamples));
        JavaRDD<MultiDataSet> dealt = someRoundCanBeEmpty(sizes, rounds) ? data.coalesce(1) : data;
        JavaRDD<MultiDataSet>[] splits = getSplitRDDs(dealt, (int) total, rddDataSetNumExamples);
        for (int i = 0; i < splits.length; i++) {
            doIteration(graph, splits[i], i + 1, splits.length);
        }
    }

    private static <T> Iterator<Long> countOf(Iterator<T> partition) {
        long n = 0;
        for (; partition.hasNext(); partition.next()) {
            n++;
        }
        return Collections.singletonList(n).iterator();
    }

    /** dl4j-spark's number of rounds for an epoch ({@code SparkUtils.balancedRandomSplit}: rounded down, at least one). */
    static int rounds(long minibatches, int perRound) {
        return minibatches <= perRound ? 1 : (int) (minibatches / perRound);
    }

    /**
     * dl4j-spark deals each partition's minibatches over the rounds in turns (every round one before any gets a
     * second), so a partition of at least {@code rounds} minibatches gives every round one; without such a
     * partition a round may draw none.
     */
    static boolean someRoundCanBeEmpty(List<Long> partitionSizes, int rounds) {
        return rounds > 1 && partitionSizes.stream().allMatch(n -> n < rounds);
    }

    @Override
    public ParameterAveragingTrainingWorker getWorkerInstance(SparkComputationGraph graph) {
        if (collectTrainingStats || (listeners != null && !listeners.isEmpty())) {
            return super.getWorkerInstance(graph);
        }
        ComputationGraph net = graph.getNetwork();
        NetBroadcastTuple tuple = new NetBroadcastTuple(net.getConfiguration(), net.params(),
                net.getUpdater().getStateViewArray());
        WorkerConfiguration worker = new WorkerConfiguration(true, rddDataSetNumExamples, batchSizePerWorker,
                NO_MINIBATCH_CAP, prefetchNumBatches, collectTrainingStats);
        Broadcast<NetBroadcastTuple> broadcast = graph.getSparkContext().broadcast(tuple);
        return new ReusingTrainingWorker(broadcast, saveUpdater, worker, trainingHookList, listeners, getRouterProvider());
    }
}
