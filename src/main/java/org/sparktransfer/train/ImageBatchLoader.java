package org.sparktransfer.train;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import org.apache.spark.sql.Row;
import org.deeplearning4j.core.loader.DataSetLoader;
import org.nd4j.common.loader.Source;
import org.nd4j.linalg.dataset.DataSet;
import org.sparktransfer.data.TensorBatcher;
import org.sparktransfer.io.ImageBatchFiles;
import org.sparktransfer.runtime.NativeRuntime;

/**
 * Loads an exported image minibatch ({@link ImageBatchFiles}) as the training worker's tensors: decoded and
 * augmented by the epoch's {@link TensorBatcher}, so the tensors are those the batcher makes of the same rows
 * in a Spark task. dl4j-spark calls it on the worker's prefetch thread ({@code --prefetch} minibatches ahead),
 * so decoding overlaps the training steps instead of running in a job before them.
 */
final class ImageBatchLoader implements DataSetLoader {
    private static final long serialVersionUID = 1L;

    private final TensorBatcher batcher;
    private final int numClasses;

    ImageBatchLoader(TensorBatcher batcher, int numClasses) {
        this.batcher = batcher;
        this.numClasses = numClasses;
    }

    @Override
    public DataSet load(Source source) throws IOException {
        // The prefetch thread's ND4J work is light (wrapping the decoded pixels); multi-threaded, it would keep an
        // OpenMP pool beside the trainer's for the round (see NativeRuntime.serialOnThisThread). With --prefetch 0
        // this runs on the task's own thread, whose settings the task made: left alone.
        boolean besideTheSteps = org.apache.spark.TaskContext.get() == null;
        if (besideTheSteps) {
            NativeRuntime.serialOnThisThread();
        }
        List<Row> rows;
        try (InputStream in = source.getInputStream()) {
            rows = ImageBatchFiles.read(in, source.getPath());
        }
        return batcher.batch(rows, decodeThreads(besideTheSteps)).toDataSet(numClasses);
    }

    /**
     * On the CPU backend the steps beside the prefetch thread already use the task's cores: decoding on that
     * thread alone took the least from them (TrainJob, ResNet-18 at 224 px on 2 cores: job / model-only 0.75 and
     * 0.74 against 0.71 and 0.67 with two decoding threads). On a GPU, or on the task's own thread between steps
     * ({@code --prefetch 0}), the cores are the decoder's.
     */
    static int decodeThreads(boolean besideTheSteps) {
        return besideTheSteps && org.nd4j.linalg.factory.Nd4j.getEnvironment().isCPU() ? 1 : NativeRuntime.taskCpus();
    }
}
