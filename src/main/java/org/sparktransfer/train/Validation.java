package org.sparktransfer.train;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.Collections;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.sparktransfer.model.BatchNormFolding;
import org.deeplearning4j.util.ModelSerializer;
import org.sparktransfer.io.NetworkZip;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.sparktransfer.runtime.NativeRuntime;
import org.sparktransfer.runtime.TaskWorkspaces;

/**
 * Validation in one distributed pass: accuracy, per-class recall and the mean cross-entropy from
 * the same forward pass (dl4j-spark's evaluate and calculateScore would each run one). The loss
 * is the plain cross-entropy, without the weight-decay term DL4J's score adds, so it is comparable
 * across runs with different regularisation.
 */
final class Validation {
    private Validation() {}

    /** A plain class, not a record: Spark ships it between JVMs with Kryo 4, which cannot build records. */
    static final class Result implements Serializable {
        private static final long serialVersionUID = 1L;
        private Evaluation evaluation;
        private double lossSum;
        private long examples;

        Result() {}

        Result(Evaluation evaluation, double lossSum, long examples) {
            this.evaluation = evaluation;
            this.lossSum = lossSum;
            this.examples = examples;
        }

        Result merge(Result o) {
            evaluation.merge(o.evaluation);
            return new Result(evaluation, lossSum + o.lossSum, examples + o.examples);
        }

        Evaluation evaluation() {
            return evaluation;
        }

        double meanLoss() {
            return examples == 0 ? 0 : lossSum / examples;
        }
    }

    static Result run(JavaSparkContext jsc, ComputationGraph net, JavaRDD<DataSet> data, List<String> labels) {
        Broadcast<byte[]> model = jsc.broadcast(serialize(net));
        try {
            // One task per core: each task restores the network once, and binaryFile makes many small partitions.
            return data.coalesce(Math.max(1, jsc.defaultParallelism())).mapPartitions(it -> {
                if (!it.hasNext()) {
                    return Collections.<Result>emptyIterator();
                }
                TaskWorkspaces.releaseAtTaskEnd();
                NativeRuntime.configureForTask();
                ComputationGraph restored = ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(model.value()), false);
                // Scored as PredictJob scores: batch norms folded into the convolutions (same outputs, faster).
                ComputationGraph copy = BatchNormFolding.applies(restored) ? BatchNormFolding.fold(restored) : restored;
                // A mutable copy: Kryo cannot rebuild the immutable list that ClassIndex hands out.
                Evaluation eval = new Evaluation(new java.util.ArrayList<>(labels));
                double lossSum = 0;
                long n = 0;
                while (it.hasNext()) {
                    DataSet ds = it.next();
                    INDArray probs = copy.outputSingle(false, ds.getFeatures());
                    eval.eval(ds.getLabels(), probs);
                    // Cross-entropy of the softmax output; clamp so a confident mistake stays finite.
                    INDArray logp = Transforms.log(Transforms.max(probs, 1e-12, true), false);
                    lossSum -= logp.mul(ds.getLabels()).sumNumber().doubleValue();
                    n += ds.numExamples();
                }
                return Collections.singletonList(new Result(eval, lossSum, n)).iterator();
            }).reduce(Result::merge);
        } finally {
            model.destroy();
        }
    }

    private static byte[] serialize(ComputationGraph net) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            NetworkZip.write(net, out, false);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
