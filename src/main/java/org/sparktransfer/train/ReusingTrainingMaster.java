package org.sparktransfer.train;

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
 * dl4j-spark's worker everywhere (for comparison).
 */
final class ReusingTrainingMaster extends ParameterAveragingTrainingMaster {
    static final String PROPERTY = "sparktransfer.workerNetworks";

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
                averagingFrequency, prefetchNumBatches, collectTrainingStats);
        return new ReusingTrainingWorker(graph.getSparkContext().broadcast(tuple), saveUpdater, worker,
                trainingHookList, listeners, getRouterProvider());
    }
}
