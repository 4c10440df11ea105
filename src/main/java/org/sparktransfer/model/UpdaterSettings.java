package org.sparktransfer.model;

import java.util.Map;
import java.util.Objects;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.learning.config.IUpdater;

/**
 * Per-layer updater configurations (optimizer and learning rate, which TrainingLoop changes every epoch) moved
 * from one graph's configuration to another graph with the same layer names, without rebuilding the graph.
 */
public final class UpdaterSettings {

    private UpdaterSettings() {
    }

    /**
     * Gives every layer of {@code to} that has updater settings of its own the settings of the same-named layer in
     * {@code from}: in {@code to}'s configuration and in its instantiated layer, which DL4J reads separately. If
     * any differed, {@code to}'s updater is dropped and rebuilt for them on next use (its state must then be set
     * again). Frozen and parameterless layers have none and are skipped.
     *
     * @return whether any setting changed
     */
    public static boolean take(ComputationGraph to, ComputationGraphConfiguration from) {
        boolean changed = false;
        for (Map.Entry<String, GraphVertex> e : to.getConfiguration().getVertices().entrySet()) {
            BaseLayer target = baseLayer(e.getValue());
            BaseLayer source = baseLayer(from.getVertices().get(e.getKey()));
            if (target == null || source == null || (Objects.equals(source.getIUpdater(), target.getIUpdater())
                    && Objects.equals(source.getBiasUpdater(), target.getBiasUpdater()))) {
                continue;
            }
            for (BaseLayer l : new BaseLayer[] {target, (BaseLayer) to.getLayer(e.getKey()).conf().getLayer()}) {
                l.setIUpdater(copy(source.getIUpdater()));
                l.setBiasUpdater(copy(source.getBiasUpdater()));
            }
            changed = true;
        }
        if (changed) {
            to.setUpdater(null);
        }
        return changed;
    }

    private static IUpdater copy(IUpdater u) {
        return u == null ? null : u.clone();
    }

    /** The layer configuration of {@code vertex} if it has updater settings of its own, else null. */
    public static BaseLayer baseLayer(GraphVertex vertex) {
        return vertex instanceof LayerVertex lv && lv.getLayerConf().getLayer() instanceof BaseLayer b ? b : null;
    }
}
