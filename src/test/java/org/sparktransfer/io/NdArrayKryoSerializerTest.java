package org.sparktransfer.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import scala.Tuple2;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/** Arrays survive Spark's Kryo serializer with the jobs' registrator exactly: type, shape, ordering and every bit. */
class NdArrayKryoSerializerTest {
    private static final ClassTag<Object> ANY = ClassTag$.MODULE$.apply(Object.class);
    private final SerializerInstance kryo = new KryoSerializer(new SparkConf(false)
            .set("spark.kryo.registrator", Nd4jKryoRegistrator.class.getName())).newInstance();

    private Object roundTrip(Object o) {
        ByteBuffer bytes = kryo.serialize(o, ANY);
        return kryo.deserialize(bytes, ANY);
    }

    private static void assertSameArray(INDArray expected, INDArray actual, String what) {
        assertEquals(expected.dataType(), actual.dataType(), what);
        assertArrayEquals(expected.shape(), actual.shape(), what);
        if (expected.length() > 0) {
            // Exact: compare as doubles element by element (every type here converts to double without loss).
            assertArrayEquals(expected.castTo(DataType.DOUBLE).reshape(expected.length()).toDoubleVector(),
                    actual.castTo(DataType.DOUBLE).reshape(actual.length()).toDoubleVector(), 0.0, what);
        }
    }

    @Test
    void everyNumericTypeAndLayoutComesBackExactly() {
        Nd4j.getRandom().setSeed(7);
        INDArray matrix = Nd4j.rand(DataType.FLOAT, 5, 7).subi(0.5);
        List<Tuple2<String, INDArray>> cases = List.of(
                new Tuple2<>("float c", matrix),
                new Tuple2<>("double f 3-d", Nd4j.rand(DataType.DOUBLE, 'f', 3L, 4L, 2L)),
                new Tuple2<>("int", Nd4j.createFromArray(new int[] {1, -2, Integer.MAX_VALUE, Integer.MIN_VALUE})),
                new Tuple2<>("long", Nd4j.createFromArray(new long[] {Long.MAX_VALUE, -1, 0})),
                new Tuple2<>("half", matrix.castTo(DataType.HALF)),
                new Tuple2<>("bfloat16", matrix.castTo(DataType.BFLOAT16)),
                new Tuple2<>("byte", Nd4j.createFromArray(new byte[] {-128, 0, 127})),
                new Tuple2<>("bool", Nd4j.createFromArray(new boolean[] {true, false, true})),
                new Tuple2<>("scalar", Nd4j.scalar(3.25f)),
                new Tuple2<>("empty", Nd4j.create(DataType.FLOAT, 0, 3)),
                new Tuple2<>("row view", matrix.getRow(2)),
                new Tuple2<>("transposed view", matrix.transpose()),
                new Tuple2<>("strided view", matrix.get(NDArrayIndex.interval(1, 4), NDArrayIndex.interval(0, 2, 7))));
        for (Tuple2<String, INDArray> c : cases) {
            INDArray back = (INDArray) roundTrip(c._2());
            assertSameArray(c._2(), back, c._1());
            assertFalse(back.isView(), c._1() + ": a compact copy, not a view");
        }
        INDArray f = Nd4j.rand(DataType.DOUBLE, 'f', 3L, 4L);
        assertEquals('f', ((INDArray) roundTrip(f)).ordering(), "ordering kept");
    }

    @Test
    void arraysInsideOtherObjectsAndLargeArraysUseTheBulkPath() {
        INDArray params = Nd4j.rand(DataType.FLOAT, 3_000_000);
        INDArray state = Nd4j.rand(DataType.FLOAT, 2_000_000);
        assertTrue(NdArrayKryoSerializer.bulk(params));
        @SuppressWarnings("unchecked")
        Tuple2<INDArray, INDArray> back = (Tuple2<INDArray, INDArray>) roundTrip(new Tuple2<>(params, state));
        assertSameArray(params, back._1(), "params");
        assertSameArray(state, back._2(), "state");
        long bytes = kryo.serialize(params, ANY).remaining();
        assertTrue(bytes < params.length() * 4 + 64, "raw element bytes plus a short header: " + bytes);
    }

    /**
     * A view goes through a compact copy whose memory the serializer reads through a direct ByteBuffer, which does
     * not keep the copy alive: once compiled, the copy was unreachable during the read, and a collection meanwhile
     * let ND4J free the memory under it (TrainJob's driver died with SIGSEGV in {@code ByteBuffer.get} while
     * broadcasting the updater state, a view). Many writes of a view while another thread allocates garbage (a
     * young collection every few milliseconds, which frees an unreachable copy): every serialized copy must be
     * exact. Without the fence this failed within ~250 writes.
     */
    @Test
    void viewsSerializeExactlyWhileTheCollectorRuns() throws Exception {
        INDArray whole = Nd4j.rand(DataType.FLOAT, 2, 600_000);
        INDArray view = whole.get(NDArrayIndex.point(1), NDArrayIndex.all());
        assertTrue(view.isView());
        byte[] expected = null;
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        Thread collector = new Thread(() -> {
            long sum = 0;
            while (!done.get()) {
                byte[] garbage = new byte[1 << 20];
                sum += garbage.length;
            }
            if (sum < 0) {
                throw new AssertionError(); // keeps the allocations from being optimised away
            }
        }, "test-collector");
        collector.setDaemon(true);
        collector.start();
        try {
            for (int i = 0; i < 1200; i++) {
                ByteBuffer b = kryo.serialize(view, ANY);
                byte[] bytes = new byte[b.remaining()];
                b.get(bytes);
                if (expected == null) {
                    expected = bytes;
                    assertSameArray(view, (INDArray) kryo.deserialize(ByteBuffer.wrap(bytes), ANY), "first copy");
                } else {
                    assertArrayEquals(expected, bytes, "serialized view, write " + i);
                }
            }
        } finally {
            done.set(true);
            collector.join();
        }
    }

    @Test
    void stringArraysAreLeftToNd4jsOwnSerializer() {
        // ND4J M2.1's own reader cannot read UTF8 arrays back ("Cannot read type: UTF8 to UTF8"); the jobs never
        // send them, and this serializer does not pretend to handle them.
        assertFalse(NdArrayKryoSerializer.bulk(Nd4j.create("a", "bc", "")));
    }
}
