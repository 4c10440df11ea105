package org.sparktransfer.io;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.deeplearning4j.core.loader.DataSetLoader;
import org.nd4j.common.loader.Source;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Minibatch files for dl4j-spark's path-based training, written and read with bulk copies of the arrays' memory.
 *
 * <p>dl4j-spark's own export ({@code RDDTrainingApproach.Export}) saves each minibatch with {@code DataSet.save}
 * and its workers load it with {@code DataSet.load}: both go through {@code Nd4j.write/read}, one element at a
 * time. For ResNet fine-tuning at 224 px (9.6 MB per 16-image minibatch) that took ~1.1 s of the export task and
 * ~1.6 s of the worker's prefetch thread per 80-image epoch on 2 cores, the latter beside the training steps and
 * competing with them for the cores (the worker's round ran 30-60% slower than the same steps without Spark).
 * This format costs a memory copy per array.
 *
 * <p>Format: a magic int, a version byte, then features, labels and the two optional masks (a presence flag before
 * each mask), each array as {@link NdArrayKryoSerializer} writes it.
 */
public final class DataSetFiles {
    private static final int MAGIC = 0x53544453; // "STDS"
    private static final byte VERSION = 1;
    private static final int BUFFER = 1 << 16;

    private DataSetFiles() {
    }

    /** Writes {@code ds} to {@code out} (not closed). */
    public static void write(DataSet ds, OutputStream out) throws IOException {
        NdArrayKryoSerializer arrays = new NdArrayKryoSerializer();
        Kryo kryo = new Kryo();
        Output o = new Output(out, BUFFER);
        o.writeInt(MAGIC);
        o.writeByte(VERSION);
        arrays.write(kryo, o, ds.getFeatures());
        arrays.write(kryo, o, ds.getLabels());
        for (INDArray mask : new INDArray[]{ds.getFeaturesMaskArray(), ds.getLabelsMaskArray()}) {
            o.writeBoolean(mask != null);
            if (mask != null) {
                arrays.write(kryo, o, mask);
            }
        }
        o.flush();
    }

    /** Reads a minibatch {@link #write} wrote; fails on anything else. */
    public static DataSet read(InputStream in, String path) throws IOException {
        NdArrayKryoSerializer arrays = new NdArrayKryoSerializer();
        Kryo kryo = new Kryo();
        Input i = new Input(in, BUFFER);
        if (i.readInt() != MAGIC) {
            throw new IOException(path + " is not a minibatch file written by " + DataSetFiles.class.getName());
        }
        byte version = i.readByte();
        if (version != VERSION) {
            throw new IOException(path + ": minibatch file version " + version + ", this build reads " + VERSION);
        }
        INDArray features = arrays.read(kryo, i, INDArray.class);
        INDArray labels = arrays.read(kryo, i, INDArray.class);
        INDArray featuresMask = i.readBoolean() ? arrays.read(kryo, i, INDArray.class) : null;
        INDArray labelsMask = i.readBoolean() ? arrays.read(kryo, i, INDArray.class) : null;
        return new DataSet(features, labels, featuresMask, labelsMask);
    }

    /** What dl4j-spark's workers load each exported minibatch with ({@code fitPaths(paths, loader)}). */
    public static final class Loader implements DataSetLoader {
        private static final long serialVersionUID = 1L;

        @Override
        public DataSet load(Source source) throws IOException {
            try (InputStream in = source.getInputStream()) {
                return read(in, source.getPath());
            }
        }
    }
}
