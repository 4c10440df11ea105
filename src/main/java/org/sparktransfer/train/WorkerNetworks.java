package org.sparktransfer.train;

import java.util.Iterator;
import java.util.concurrent.ConcurrentLinkedDeque;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The networks an executor JVM has trained averaging rounds with, kept for the next round.
 *
 * <p>dl4j-spark builds a fresh {@code ComputationGraph} from the round's broadcast in every round,
 * so every round pays graph construction and, worse, the first steps of a new network: workspace
 * sizing and native allocations. A network whose configuration is the broadcast's (same JSON apart
 * from the iteration and epoch counters) can instead take the broadcast's parameters and updater
 * state by assignment: the same values a fresh network would be initialised with, so averaging
 * semantics are unchanged. Networks are checked out for the length of a round, so two tasks in one
 * JVM never share one; a different configuration (another run, a new learning rate) evicts the rest.
 */
final class WorkerNetworks {
    private record Entry(String configJson, ComputationGraph network) {}

    private static final ConcurrentLinkedDeque<Entry> IDLE = new ConcurrentLinkedDeque<>();
    private static final java.util.concurrent.atomic.AtomicLong REUSED = new java.util.concurrent.atomic.AtomicLong();

    private WorkerNetworks() {}

    /** A checked-out network holding the broadcast's parameters and updater state. */
    static Lease checkout(NetBroadcastTuple tuple) {
        ComputationGraphConfiguration conf = tuple.getGraphConfiguration();
        String json = comparable(conf);
        for (Iterator<Entry> it = IDLE.iterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (!e.configJson().equals(json)) {
                it.remove();
            } else if (IDLE.removeFirstOccurrence(e)) {
                ComputationGraph net = e.network();
                net.getConfiguration().setIterationCount(conf.getIterationCount());
                net.getConfiguration().setEpochCount(conf.getEpochCount());
                net.setParams(tuple.getParameters());
                INDArray state = tuple.getUpdaterState();
                if (state != null) {
                    net.getUpdater().getStateViewArray().assign(state);
                }
                REUSED.incrementAndGet();
                return new Lease(json, net, true);
            }
        }
        // As dl4j-spark's worker does: its own configuration copy and parameter arrays.
        ComputationGraph net = new ComputationGraph(conf.clone());
        net.init(tuple.getParameters().dup(), false);
        if (tuple.getUpdaterState() != null) {
            net.setUpdater(new ComputationGraphUpdater(net, tuple.getUpdaterState().dup()));
        }
        return new Lease(json, net, false);
    }

    /** How many rounds in this JVM have trained a reused network (for tests and logs). */
    static long reused() {
        return REUSED.get();
    }

    private static String comparable(ComputationGraphConfiguration conf) {
        ComputationGraphConfiguration c = conf.clone();
        c.setIterationCount(0);
        c.setEpochCount(0);
        return c.toJson();
    }

    /** A network used by one round; {@link #release} makes it available to the next. */
    record Lease(String configJson, ComputationGraph network, boolean reused) {
        void release() {
            IDLE.addFirst(new Entry(configJson, network));
        }
    }
}
