package org.sparktransfer.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What {@link NativeRuntime#serialOnThisThread} relies on: libgomp gives every thread that opens a parallel
 * region a pool of worker threads that lives as long as that thread (the workers inherit its name), and a
 * thread limited to one OpenMP thread opens none.
 */
class NativeRuntimeTest {

    /** Threads of this process named {@code name}: the Java thread itself plus native threads it started. */
    static long threadsNamed(String name) throws IOException {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            return tasks.filter(t -> {
                try {
                    return Files.readString(t.resolve("comm")).strip().equals(name);
                } catch (IOException e) {
                    return false; // the thread ended while listing
                }
            }).count();
        }
    }

    /** Runs an element-wise add of two large arrays on a new thread named {@code name} and counts its namesakes. */
    static long namesakesAfterAnOp(String name, Runnable threadSetup) throws Exception {
        INDArray a = Nd4j.rand(DataType.FLOAT, 4_000_000);
        INDArray b = Nd4j.rand(DataType.FLOAT, 4_000_000);
        CountDownLatch done = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                threadSetup.run();
                a.addi(b);
                Nd4j.getExecutioner().commit();
            } catch (Throwable e) {
                failure.set(e);
            } finally {
                done.countDown();
            }
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, name);
        t.start();
        done.await();
        try {
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            return threadsNamed(name);
        } finally {
            release.countDown();
            t.join();
        }
    }

    @Test
    void aSerialThreadOpensNoOpenMpPoolAndAParallelOneDoes() throws Exception {
        assumeTrue(Runtime.getRuntime().availableProcessors() >= 2, "needs two CPUs for a two-thread team");
        NativeRuntime.configure(2);
        assertEquals(1, namesakesAfterAnOp("omp-serial", NativeRuntime::serialOnThisThread),
                "a thread limited to one OpenMP thread starts no worker threads");
        assertEquals(2, namesakesAfterAnOp("omp-parallel", () -> NativeRuntime.openMpThreadsOnThisThread(2)),
                "a two-thread team: the thread itself and one libgomp worker named after it");
    }
}
