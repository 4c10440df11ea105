package org.sparktransfer.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class TaskSideThreadTest {

    /**
     * Threads still named {@code name}, waiting up to 10 s for them to go: {@code Thread.join} returns when the JVM
     * has marked the thread ended, moments before the native thread exits and libgomp frees its pool.
     */
    static long threadsLeft(String name) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        long n = NativeRuntimeTest.threadsNamed(name);
        while (n > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
            n = NativeRuntimeTest.threadsNamed(name);
        }
        return n;
    }

    @Test
    void theWorkSeesEveryElementInOrderAndItsThreadAndOpenMpPoolAreGoneAfterwards() throws Exception {
        NativeRuntime.configure(2);
        INDArray a = Nd4j.rand(DataType.FLOAT, 4_000_000);
        INDArray b = Nd4j.rand(DataType.FLOAT, 4_000_000);
        List<Integer> seen = TaskSideThread.consume("side-work", IntStream.range(0, 100).boxed().iterator(), it -> {
            a.addi(b); // a parallel region: the thread gets a libgomp pool (see NativeRuntimeTest)
            List<Integer> out = new ArrayList<>();
            it.forEachRemaining(out::add);
            return out;
        });
        assertEquals(IntStream.range(0, 100).boxed().toList(), seen);
        assertEquals(0, threadsLeft("side-work"), "the side thread and its OpenMP workers have ended");
    }

    @Test
    void failuresOnEitherSideReachTheTaskThreadWithoutHanging() {
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            IllegalArgumentException work = assertThrows(IllegalArgumentException.class, () ->
                    TaskSideThread.consume("side-fails", IntStream.range(0, 1000).boxed().iterator(), it -> {
                        it.next();
                        throw new IllegalArgumentException("bad batch");
                    }));
            assertEquals("bad batch", work.getMessage());

            Iterator<Integer> broken = new Iterator<>() {
                int i;

                @Override
                public boolean hasNext() {
                    return true;
                }

                @Override
                public Integer next() {
                    if (++i == 5) {
                        throw new IllegalStateException("source read failed");
                    }
                    return i;
                }
            };
            IllegalStateException source = assertThrows(IllegalStateException.class, () ->
                    TaskSideThread.consume("side-starved", broken, it -> {
                        int n = 0;
                        while (it.hasNext()) {
                            it.next();
                            n++;
                        }
                        return n;
                    }));
            assertEquals("source read failed", source.getMessage());
            assertEquals(0, threadsLeft("side-starved"));

            // Work that stops early: the task thread stops feeding it.
            int early = TaskSideThread.consume("side-early", IntStream.range(0, 1_000_000).boxed().iterator(), it -> {
                int n = 0;
                while (n < 3) {
                    it.next();
                    n++;
                }
                return n;
            });
            assertEquals(3, early);
        });
    }
}
