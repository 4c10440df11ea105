package org.sparktransfer.train;

import java.util.Iterator;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparktransfer.model.FrozenPrefixFolding;
import org.sparktransfer.model.UpdaterSettings;

/**
 * The networks an executor JVM has trained averaging rounds with, kept for the next round.
 *
 * <p>dl4j-spark builds a fresh {@code ComputationGraph} from the round's broadcast in every round,
 * so every round pays graph construction and the first steps of a new network (workspace sizing,
 * native allocations). A kept network whose configuration is the broadcast's, apart from iteration
 * and epoch counters and the updaters' learning rates (TrainingLoop sets a new rate every epoch),
 * takes the broadcast's updater configurations, parameters and updater state instead: the values a
 * fresh network would be initialised with, so parameter averaging is unchanged. A network is checked
 * out for one round, so two tasks in one JVM never share one; another configuration evicts the rest.
 *
 * <p>With frozen layers, the round fits a copy with the frozen batch norms folded into their convolutions
 * ({@link FrozenPrefixFolding}): the same training, without a pass over every frozen activation for its batch
 * norm and another for its ReLU. The copy is kept with the network and brought to the broadcast each round.
 */
final class WorkerNetworks {
    private record Entry(String structure, String exact, ComputationGraph network, FrozenPrefixFolding folding,
                         TrainerThread trainer) {}

    /** {@code -Dsparktransfer.foldFrozen=false}: train the frozen prefix with its batch norms as built. */
    static final boolean FOLD_FROZEN = Boolean.parseBoolean(System.getProperty("sparktransfer.foldFrozen", "true"));

    private static final ConcurrentLinkedDeque<Entry> IDLE = new ConcurrentLinkedDeque<>();
    private static final AtomicLong REUSED = new AtomicLong();
    private static final AtomicLong FOLDED = new AtomicLong();

    private WorkerNetworks() {}

    /** A checked-out network holding the broadcast's parameters and updater state. */
    static Lease checkout(NetBroadcastTuple tuple) {
        ComputationGraphConfiguration conf = tuple.getGraphConfiguration();
        String exact = withoutCounters(conf).toJson();
        String structure = structure(conf);
        for (Iterator<Entry> it = IDLE.iterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (!e.structure().equals(structure)) {
                it.remove();
                e.trainer().shutdown();
            } else if (IDLE.removeFirstOccurrence(e)) {
                ComputationGraph net = e.network();
                if (!e.exact().equals(exact)) {
                    UpdaterSettings.take(net, conf); // the updater is rebuilt; its state is assigned below
                }
                net.getConfiguration().setIterationCount(conf.getIterationCount());
                net.getConfiguration().setEpochCount(conf.getEpochCount());
                net.setParams(tuple.getParameters());
                INDArray state = tuple.getUpdaterState();
                if (state != null) {
                    net.getUpdater().getStateViewArray().assign(state);
                }
                if (e.folding() != null) {
                    e.folding().pull(net);
                    FOLDED.incrementAndGet();
                }
                REUSED.incrementAndGet();
                return new Lease(structure, exact, net, e.folding(), e.trainer());
            }
        }
        // As dl4j-spark's worker does: its own configuration copy and parameter arrays.
        ComputationGraph net = new ComputationGraph(conf.clone());
        net.init(tuple.getParameters().dup(), false);
        if (tuple.getUpdaterState() != null) {
            net.setUpdater(new ComputationGraphUpdater(net, tuple.getUpdaterState().dup()));
        }
        FrozenPrefixFolding folding = null;
        if (FOLD_FROZEN && FrozenPrefixFolding.applies(net)) {
            folding = FrozenPrefixFolding.of(net);
            FOLDED.incrementAndGet();
        }
        return new Lease(structure, exact, net, folding, new TrainerThread());
    }

    /** How many rounds in this JVM have trained a reused network (for tests). */
    static long reused() {
        return REUSED.get();
    }

    /** How many rounds in this JVM have fitted a copy with the frozen prefix folded (for tests). */
    static long folded() {
        return FOLDED.get();
    }

    /** Drops the kept networks (their memory goes with the next garbage collection). */
    static void clear() {
        for (Entry e; (e = IDLE.poll()) != null; ) {
            e.trainer().shutdown();
        }
    }

    private static ComputationGraphConfiguration withoutCounters(ComputationGraphConfiguration conf) {
        ComputationGraphConfiguration c = conf.clone();
        c.setIterationCount(0);
        c.setEpochCount(0);
        return c;
    }

    /** The configuration without counters and updater configurations: what a kept network must match. */
    private static String structure(ComputationGraphConfiguration conf) {
        ComputationGraphConfiguration c = withoutCounters(conf);
        c.getVertices().values().forEach(v -> {
            BaseLayer b = UpdaterSettings.baseLayer(v);
            if (b != null) {
                b.setIUpdater(null);
                b.setBiasUpdater(null);
            }
        });
        return c.toJson();
    }

    /**
     * A network used by one round; {@link #release} makes it available to the next. {@code network} holds the
     * broadcast's layout (what the round returns); {@link #training} is the graph to fit: the same one, or the
     * copy with the frozen prefix's batch norms folded ({@link FrozenPrefixFolding}). Its steps run on
     * {@link #trainer}, the network's own thread, round after round.
     */
    record Lease(String structure, String exact, ComputationGraph network, FrozenPrefixFolding folding,
                 TrainerThread trainer) {
        ComputationGraph training() {
            return folding == null ? network : folding.training();
        }

        /** Copies what fitting {@link #training} changed into {@link #network}. */
        void collect() {
            if (folding != null) {
                folding.push(network);
            }
        }

        void release() {
            IDLE.addFirst(new Entry(structure, exact, network, folding, trainer));
        }
    }
}
