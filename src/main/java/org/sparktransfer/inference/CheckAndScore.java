package org.sparktransfer.inference;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.util.SerializableConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparktransfer.data.FloatTensors;
import org.sparktransfer.data.ImageColumns;
import org.sparktransfer.data.ParallelEvalDecoder;
import org.sparktransfer.data.RejectCause;
import org.sparktransfer.data.image.Preprocessing;
import org.sparktransfer.runtime.NativeRuntime;
import org.sparktransfer.runtime.TaskWorkspaces;

/**
 * Listed images ({@link ImageColumns#LISTED}) to {@link PredictionColumns#OUTCOME} rows in one pass:
 * each image is decoded once, on the task's spark.task.cpus threads; a failure becomes its reject row,
 * a success goes into the current batch. Batches are filled across rejects, so every forward pass but
 * the partition's last runs at the full batch size (see {@link BatchShape}). Rows stream out as
 * batches are scored: a partition is never held in memory.
 */
public final class CheckAndScore implements FlatMapFunction<Iterator<Row>, Row> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(CheckAndScore.class);
    /** What every task logs at its end (seconds with one decimal); {@code JobThroughputBenchmark} reads it. */
    public static final String TASK_LINE =
            "Task scored {} images, rejected {} in {} s: decoding {} s, model load {} s, forward passes {} s";

    private final String modelDir;
    private final Preprocessing preprocessing;
    private final int batchSize;
    private final long maxPixels;
    private final PredictionRows rows;
    private final SerializableConfiguration conf;

    CheckAndScore(String modelDir, Preprocessing preprocessing, int batchSize, long maxPixels, PredictionRows rows,
                  SerializableConfiguration conf) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        this.modelDir = modelDir;
        this.preprocessing = preprocessing;
        this.batchSize = batchSize;
        this.maxPixels = maxPixels;
        this.rows = rows;
        this.conf = conf;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> listed) {
        if (!listed.hasNext()) {
            return Collections.emptyIterator();
        }
        NativeRuntime.configureForTask();
        return new Scoring(listed);
    }

    /** Pulls chunks of listed rows, decodes them, scores each full batch and hands out the rows made. */
    private final class Scoring implements Iterator<Row> {
        private final Iterator<Row> listed;
        private final ParallelEvalDecoder decoder;
        private final int perImage;
        private final float[] batch;
        private final List<Row> batchSources = new ArrayList<>(batchSize);
        private final ArrayDeque<Row> ready = new ArrayDeque<>();
        private ComputationGraph net;
        private boolean closed;
        private final long started = System.nanoTime();
        private long decodeNanos;
        private long modelNanos;
        private long forwardNanos;
        private int scored;
        private int rejected;

        Scoring(Iterator<Row> listed) {
            this.listed = listed;
            this.decoder = new ParallelEvalDecoder(preprocessing, maxPixels, batchSize, NativeRuntime.taskCpus());
            this.perImage = decoder.floatsPerImage();
            this.batch = new float[batchSize * perImage];
            TaskContext task = TaskContext.get();
            if (task != null) {
                // A failed or abandoned task still returns its network and threads.
                task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) t -> close());
            }
        }

        @Override
        public boolean hasNext() {
            while (ready.isEmpty() && !closed) {
                if (listed.hasNext()) {
                    decodeChunk();
                } else {
                    if (!batchSources.isEmpty()) {
                        score();
                    }
                    close();
                }
            }
            return !ready.isEmpty();
        }

        @Override
        public Row next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return ready.poll();
        }

        /** Decodes as many images as the batch has free slots; rejects leave slots free for the next chunk. */
        private void decodeChunk() {
            List<Row> chunk = new ArrayList<>();
            List<byte[]> contents = new ArrayList<>();
            while (listed.hasNext() && chunk.size() < batchSize - batchSources.size()) {
                Row r = listed.next();
                String readError = r.getString(5);
                if (readError != null) {
                    rejected++;
                    ready.add(rows.rejected(r.getString(0), r.getString(2), bytes(r), RejectCause.unreadable(readError)));
                } else {
                    chunk.add(r);
                    contents.add((byte[]) r.get(4));
                }
            }
            long t = System.nanoTime();
            RejectCause[] causes = decoder.decode(contents);
            decodeNanos += System.nanoTime() - t;
            for (int i = 0; i < chunk.size(); i++) {
                Row r = chunk.get(i);
                if (causes[i] != null) {
                    rejected++;
                    ready.add(rows.rejected(r.getString(0), r.getString(2), bytes(r), causes[i]));
                } else {
                    System.arraycopy(decoder.slot(i), 0, batch, batchSources.size() * perImage, perImage);
                    batchSources.add(r);
                }
            }
            if (batchSources.size() == batchSize) {
                score();
            }
        }

        private void score() {
            int n = batchSources.size();
            int shape = BatchShape.padded(n, batchSize);
            // Padding rows are zeros; inference batch norm is per image, so they do not affect the real rows.
            Arrays.fill(batch, n * perImage, shape * perImage, 0f);
            int crop = preprocessing.cropSize();
            long t = System.nanoTime();
            if (net == null) {
                TaskWorkspaces.releaseAtTaskEnd();
                net = ModelCache.borrow(modelDir, conf.value());
                modelNanos = System.nanoTime() - t;
                t = System.nanoTime();
            }
            double[][] probabilities = net.outputSingle(false, FloatTensors.of(batch, shape, 3, crop, crop))
                    .toDoubleMatrix();
            forwardNanos += System.nanoTime() - t;
            scored += n;
            for (int i = 0; i < n; i++) {
                Row r = batchSources.get(i);
                ready.add(rows.scored(r.getString(0), r.getString(2), bytes(r), probabilities[i]));
            }
            batchSources.clear();
        }

        private synchronized void close() {
            if (!closed) {
                closed = true;
                decoder.close();
                if (net != null) {
                    ModelCache.giveBack(modelDir, net);
                    net = null;
                }
                LOG.info(TASK_LINE,
                        scored, rejected, seconds(System.nanoTime() - started), seconds(decodeNanos), seconds(modelNanos),
                        seconds(forwardNanos));
            }
        }
    }

    private static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.1f", nanos / 1e9);
    }

    private static long bytes(Row listed) {
        byte[] content = (byte[]) listed.get(4);
        return content == null ? 0L : content.length;
    }
}
