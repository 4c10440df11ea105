package org.sparktransfer.train;

import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.api.WorkerConfiguration;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingWorker;

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
