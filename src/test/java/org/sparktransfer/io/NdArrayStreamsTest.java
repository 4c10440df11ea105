package org.sparktransfer.io;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The bulk writer emits exactly {@code Nd4j.write}'s bytes, and {@code Nd4j.read} and the bulk reader read them back alike. */
class NdArrayStreamsTest {

    private static byte[] bytes(INDArray a, boolean bulk) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bo)) {
            if (bulk) {
                NdArrayStreams.write(a, out);
            } else {
                Nd4j.write(a, out);
            }
        }
        return bo.toByteArray();
    }

    @Test
    void sameBytesAsNd4jWriteForEveryLayout() throws IOException {
        Nd4j.getRandom().setSeed(11);
        INDArray matrix = Nd4j.rand(DataType.FLOAT, 300, 517).subi(0.5).muli(1e3);
        Map<String, INDArray> cases = new LinkedHashMap<>();
        cases.put("row vector over several chunks", Nd4j.rand(DataType.FLOAT, 1, 200_003));
        cases.put("matrix", matrix);
        cases.put("f-order matrix", matrix.dup('f'));
        cases.put("column view", matrix.get(NDArrayIndex.all(), NDArrayIndex.interval(3, 9)));
        cases.put("transposed view", matrix.transpose());
        cases.put("scalar", Nd4j.scalar(DataType.FLOAT, -0.0f));
        cases.put("specials", Nd4j.createFromArray(Float.MIN_VALUE, Float.MAX_VALUE, Float.NEGATIVE_INFINITY, 1e-40f));
        cases.put("empty", Nd4j.create(DataType.FLOAT, 0));
        cases.put("double (ND4J's own writer)", Nd4j.rand(DataType.DOUBLE, 7, 5));
        cases.put("int (ND4J's own writer)", Nd4j.createFromArray(1, 2, 3));
        for (Map.Entry<String, INDArray> c : cases.entrySet()) {
            byte[] ours = bytes(c.getValue(), true);
            assertArrayEquals(bytes(c.getValue(), false), ours, c.getKey());
            INDArray back = Nd4j.read(new DataInputStream(new ByteArrayInputStream(ours)));
            assertEquals(c.getValue(), back, c.getKey() + " read back");
            // The bulk reader returns what Nd4j.read does: shape, order, type and every element.
            INDArray bulk = NdArrayStreams.read(new DataInputStream(new ByteArrayInputStream(ours)));
            assertEquals(back.dataType(), bulk.dataType(), c.getKey() + ": type");
            assertEquals(back.ordering(), bulk.ordering(), c.getKey() + ": order");
            assertArrayEquals(back.shape(), bulk.shape(), c.getKey() + ": shape");
            assertEquals(back, bulk, c.getKey() + " read in bulk");
            if (back.dataType() == DataType.FLOAT && back.length() > 0) {
                assertArrayEquals(back.data().asFloat(), bulk.data().asFloat(), c.getKey() + ": bits");
            }
        }
    }
}
