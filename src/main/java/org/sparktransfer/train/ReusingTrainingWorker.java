package org.sparktransfer.train;

import java.util.Collection;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.core.storage.StatsStorageRouterProvider;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.spark.api.TrainingHook;
import org.deeplearning4j.spark.api.WorkerConfiguration;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingResult;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingWorker;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparktransfer.runtime.NativeRuntime;

/**
 * dl4j-spark's parameter-averaging worker, except that a round's network comes from
 * {@link WorkerNetworks} (this JVM's network of the previous round, given the broadcast's
 * parameters and updater state) instead of being built anew, and with frozen layers the round fits its copy
 * with the frozen batch norms folded. Fitting and the result are dl4j-spark's.
 * Not used with training listeners or training statistics (see {@link ReusingTrainingMaster}).
 */
final class ReusingTrainingWorker extends ParameterAveragingTrainingWorker {
    private static final Logger LOG = LoggerFactory.getLogger(ReusingTrainingWorker.class);
    private final Broadcast<NetBroadcastTuple> broadcast;
    private transient WorkerNetworks.Lease lease;
    private transient long roundStart;
    private transient int startIteration;
    private transient double setupSeconds;
    private transient StringBuilder stepSeconds;

    ReusingTrainingWorker(Broadcast<NetBroadcastTuple> broadcast, boolean saveUpdater, WorkerConfiguration configuration,
                          Collection<TrainingHook> hooks, Collection<TrainingListener> listeners,
                          StatsStorageRouterProvider routerProvider) {
        super(broadcast, saveUpdater, configuration, hooks, listeners, routerProvider);
        this.broadcast = broadcast;
    }

    @Override
    public ComputationGraph getInitialModelGraph() {
        roundStart = System.nanoTime();
        // This task thread only sets parameters and copies results; the steps run on the trainer thread. Left
        // multi-threaded, it would keep an idle OpenMP pool beside the trainer's (NativeRuntime.serialOnThisThread).
        if (TrainerThread.enabled()) {
            NativeRuntime.serialOnThisThread();
        } else {
            NativeRuntime.configureForTask();
        }
        lease = WorkerNetworks.checkout(broadcast.getValue());
        Nd4j.getExecutioner().commit();
        setupSeconds = (System.nanoTime() - roundStart) / 1e9;
        startIteration = lease.training().getIterationCount();
        stepSeconds = new StringBuilder();
        return lease.training();
    }

    /**
     * Fits on the network's own thread ({@link TrainerThread}), where its workspaces stay between rounds.
     * dl4j-spark's DataSet overload converts and calls this one.
     */
    @Override
    public ParameterAveragingTrainingResult processMinibatch(MultiDataSet minibatch, ComputationGraph network, boolean isLast) {
        if (lease == null || lease.training() != network || !TrainerThread.enabled()) {
            return super.processMinibatch(minibatch, network, isLast);
        }
        // Each step's seconds, for the round's log line (printed from the last step, which returns the result).
        long t = System.nanoTime();
        try {
            return lease.trainer().call(() -> super.processMinibatch(minibatch, network, isLast));
        } finally {
            stepSeconds.append(String.format(java.util.Locale.ROOT, " %.2f", (System.nanoTime() - t) / 1e9));
        }
    }

    @Override
    public ParameterAveragingTrainingResult getFinalResult(ComputationGraph network) {
        ParameterAveragingTrainingResult r = super.getFinalResult(network);
        if (lease == null || lease.training() != network) {
            return r;
        }
        // Parameters and updater state in the broadcast's layout (the graph fitted may be the folded copy); the
        // result is serialized after the task returns, by when the next round may own the network again: copies.
        lease.collect();
        ComputationGraph full = lease.network();
        ParameterAveragingTrainingResult own = new ParameterAveragingTrainingResult(full.params().dup(),
                r.getUpdaterState() == null ? null : full.getUpdater().getStateViewArray().dup(), r.getScore(),
                r.getListenerMetaData(), r.getListenerStaticInfo(), r.getListenerUpdates());
        WorkerNetworks.Lease done = lease;
        lease = null;
        done.release();
        // Where a round's time goes on the worker: what the driver's epoch time adds on top is Spark's.
        LOG.info(String.format(java.util.Locale.ROOT,
                "averaging round: %d minibatches in %.2f s on this worker, network ready after %.2f s; steps but the last (s):%s",
                network.getIterationCount() - startIteration, (System.nanoTime() - roundStart) / 1e9, setupSeconds,
                stepSeconds));
        return own;
    }
}
