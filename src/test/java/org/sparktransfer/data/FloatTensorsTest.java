package org.sparktransfer.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The bulk copy gives what ND4J's element-by-element create gives, also from the front of a longer array. */
class FloatTensorsTest {

    @Test
    void sameAsNd4jCreate() {
        float[] data = new float[2 * 3 * 5 * 5 + 7];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) Math.sin(i) * 10;
        }
        INDArray a = FloatTensors.of(data, 2, 3, 5, 5);
        assertEquals(DataType.FLOAT, a.dataType());
        assertEquals('c', a.ordering());
        assertArrayEquals(new long[] {2, 3, 5, 5}, a.shape());
        INDArray expected = Nd4j.create(java.util.Arrays.copyOf(data, 150), new long[] {2, 3, 5, 5}, 'c');
        assertEquals(expected, a);
        assertEquals(data[149], a.getFloat(1, 2, 4, 4));
        assertThrows(IllegalArgumentException.class, () -> FloatTensors.of(new float[3], 2, 2));
    }
}
