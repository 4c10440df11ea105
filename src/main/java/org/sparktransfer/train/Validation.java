package org.sparktransfer.train;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.sparktransfer.model.BatchNormFolding;
import org.sparktransfer.io.NetworkZip;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.sparktransfer.runtime.TaskSideThread;

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
                byte[] bytes = model.value();
                // On a thread that ends with the task, so that its OpenMP pool does not outlive it beside the
                // trainer thread's for the next epoch's rounds (TaskSideThread).
                return Collections.singletonList(TaskSideThread.consume("sparktransfer-validation", it,
                        batches -> score(bytes, batches, labels))).iterator();
            }).reduce(Result::merge);
        } finally {
            model.destroy();
        }
    }

    private static Result score(byte[] model, Iterator<DataSet> batches, List<String> labels) {
        ComputationGraph restored;
        try {
            restored = NetworkZip.read(new ByteArrayInputStream(model), false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Scored as PredictJob scores: batch norms folded into the convolutions (same outputs, faster).
        ComputationGraph copy = BatchNormFolding.applies(restored) ? BatchNormFolding.fold(restored) : restored;
        // A mutable copy: Kryo cannot rebuild the immutable list that ClassIndex hands out.
        Evaluation eval = new Evaluation(new java.util.ArrayList<>(labels));
        double lossSum = 0;
        long n = 0;
        while (batches.hasNext()) {
            DataSet ds = batches.next();
            INDArray probs = copy.outputSingle(false, ds.getFeatures());
            eval.eval(ds.getLabels(), probs);
            // Cross-entropy of the softmax output; clamp so a confident mistake stays finite.
            INDArray logp = Transforms.log(Transforms.max(probs, 1e-12, true), false);
            lossSum -= logp.mul(ds.getLabels()).sumNumber().doubleValue();
            n += ds.numExamples();
        }
        return new Result(eval, lossSum, n);
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
