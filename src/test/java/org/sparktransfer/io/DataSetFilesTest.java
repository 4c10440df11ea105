package org.sparktransfer.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.common.loader.LocalFileSourceFactory;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Minibatch files: what is written is read back exactly (features larger than a copy chunk, one-hot labels,
 * masks, a view), through the loader dl4j-spark's workers use, and a file of another format is refused by name.
 */
class DataSetFilesTest {

    @TempDir
    Path dir;

    static DataSet roundTrip(DataSet ds) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataSetFiles.write(ds, bytes);
        return DataSetFiles.read(new ByteArrayInputStream(bytes.toByteArray()), "memory");
    }

    @Test
    void minibatchComesBackExactlyThroughTheWorkersLoader() throws Exception {
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.randn(DataType.FLOAT, 4, 3, 224, 224); // 2.4 MB: several copy chunks
        INDArray y = Nd4j.zeros(DataType.FLOAT, 4, 5);
        for (int i = 0; i < 4; i++) {
            y.putScalar(i, (i * 2) % 5, 1f);
        }
        Path file = dir.resolve("part-0-0.bin");
        try (OutputStream out = Files.newOutputStream(file)) {
            DataSetFiles.write(new DataSet(x, y), out);
        }
        DataSet back = new DataSetFiles.Loader().load(new LocalFileSourceFactory().getSource(file.toString()));
        assertEquals(x, back.getFeatures());
        assertArrayEquals(x.shape(), back.getFeatures().shape());
        assertEquals(DataType.FLOAT, back.getFeatures().dataType());
        assertEquals(y, back.getLabels());
        assertNull(back.getFeaturesMaskArray());
        assertNull(back.getLabelsMaskArray());
        // A copy of the memory: the file holds the elements themselves (header and shapes are small).
        long size = Files.size(file);
        assertTrue(size >= x.length() * 4 + y.length() * 4 && size < x.length() * 4 + y.length() * 4 + 256, "size " + size);
    }

    @Test
    void masksAndViewsSurvive() throws Exception {
        INDArray big = Nd4j.linspace(DataType.DOUBLE, 1, 60, 60).reshape(6, 10);
        INDArray view = big.get(NDArrayIndex.interval(1, 4), NDArrayIndex.interval(2, 7)); // [3, 5], strided
        INDArray labels = Nd4j.eye(3).castTo(DataType.FLOAT);
        INDArray fMask = Nd4j.ones(DataType.FLOAT, 3, 5);
        INDArray lMask = Nd4j.create(new float[]{1, 0, 1}, 3, 1);
        DataSet back = roundTrip(new DataSet(view, labels, fMask, lMask));
        assertEquals(view, back.getFeatures());
        assertEquals(labels, back.getLabels());
        assertEquals(fMask, back.getFeaturesMaskArray());
        assertEquals(lMask, back.getLabelsMaskArray());

        DataSet onlyLabelMask = roundTrip(new DataSet(view, labels, null, lMask));
        assertNull(onlyLabelMask.getFeaturesMaskArray());
        assertEquals(lMask, onlyLabelMask.getLabelsMaskArray());
    }

    @Test
    void otherFilesAreRefusedByName() throws Exception {
        ByteArrayOutputStream dl4jFormat = new ByteArrayOutputStream();
        new DataSet(Nd4j.ones(2, 2), Nd4j.ones(2, 1)).save(dl4jFormat);
        InputStream in = new ByteArrayInputStream(dl4jFormat.toByteArray());
        IOException e = assertThrows(IOException.class, () -> DataSetFiles.read(in, "hdfs://nn/run/tmp-export/x.bin"));
        assertTrue(e.getMessage().contains("hdfs://nn/run/tmp-export/x.bin") && e.getMessage().contains("not a minibatch file"),
                e.getMessage());
    }
}
