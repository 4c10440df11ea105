package org.sparktransfer.inference;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.sparktransfer.io.ModelArtifact;
import org.sparktransfer.io.Storage;
import org.sparktransfer.model.BatchNormFolding;
import org.sparktransfer.model.layers.NativeConvolutionImpl;

/**
 * Networks per executor JVM: each model is read from storage once per JVM, and every task that
 * runs at the same time borrows its own copy, because a DL4J network is not safe to call from two
 * threads. Copies are returned after the partition and reused by later tasks.
 *
 * <p>What is cached is the inference form: for this project's ResNets, the copy with every batch norm folded
 * into its convolution ({@link BatchNormFolding}; same outputs, one pass less per layer). DL4J zoo graphs are
 * scored as loaded.
 */
public final class ModelCache {
    private static final Map<String, ComputationGraph> LOADED = new ConcurrentHashMap<>();
    private static final Map<String, Queue<ComputationGraph>> IDLE = new ConcurrentHashMap<>();

    private ModelCache() {}

    public static ComputationGraph borrow(String modelDir, Configuration conf) {
        ComputationGraph idle = IDLE.computeIfAbsent(modelDir, k -> new ConcurrentLinkedQueue<>()).poll();
        if (idle != null) {
            return idle;
        }
        ComputationGraph original = loaded(modelDir, conf);
        ComputationGraph copy;
        synchronized (original) {
            copy = original.clone();
        }
        // A scoring copy is never trained: its convolutions may keep the weights they reordered for oneDNN.
        NativeConvolutionImpl.fixWeightsOf(copy);
        return copy;
    }

    /**
     * Reads a model and leaves one copy ready for the first task, ahead of any task (see
     * {@link org.sparktransfer.runtime.ExecutorWarmup}). A task that borrows the model meanwhile waits for
     * this load instead of starting a second one.
     */
    public static void preload(String modelDir, Configuration conf) {
        if (!isLoaded(modelDir)) {
            giveBack(modelDir, borrow(modelDir, conf));
        }
    }

    private static ComputationGraph loaded(String modelDir, Configuration conf) {
        return LOADED.computeIfAbsent(modelDir, dir -> {
            try {
                ComputationGraph net = ModelArtifact.load(new Storage(conf), new Path(dir), false).network();
                return BatchNormFolding.applies(net) ? BatchNormFolding.fold(net) : net;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot load model " + dir, e);
            }
        });
    }

    public static void giveBack(String modelDir, ComputationGraph net) {
        IDLE.computeIfAbsent(modelDir, k -> new ConcurrentLinkedQueue<>()).add(net);
    }

    /** Whether this JVM has read the model at {@code modelDir} (as tasks name it: a qualified path). */
    public static boolean isLoaded(String modelDir) {
        return LOADED.containsKey(modelDir);
    }

    /** How many times this JVM read a model from storage (for tests and logs). */
    public static int loadedModels() {
        return LOADED.size();
    }
}
