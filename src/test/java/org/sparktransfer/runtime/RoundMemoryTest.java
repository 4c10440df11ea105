package org.sparktransfer.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.lang.reflect.Proxy;
import java.util.List;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.spark.api.TrainingHook;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

/** The round-start hook: installed on the training master, one collection per round's network, and it frees unreachable arrays. */
class RoundMemoryTest {

    @Test
    void roundStartFreesThePreviousRoundsUnreachableArraysOncePerNetwork() throws Exception {
        ParameterAveragingTrainingMaster master = RoundMemory.install(new ParameterAveragingTrainingMaster.Builder(1, 4).build());
        List<TrainingHook> hooks = master.getTrainingHookList().stream()
                .filter(h -> h instanceof RoundMemory.RoundStartHook).toList();
        assertEquals(1, hooks.size(), "install adds the round-start hook");
        TrainingHook hook = roundTrip(hooks.get(0)); // as a task receives it

        Model round1 = model();
        Model round2 = model();
        hook.preUpdate((MultiDataSet) null, round1); // first round: whatever was pending is collected
        // The counter is the whole JVM's: under surefire, earlier tests' arrays are still being freed by ND4J's
        // deallocator threads after that collection, so wait until it stops moving.
        long before = settledArrayBytes();
        assertTrue(before >= 0, "libnd4j reports its array memory on the CPU backend");
        INDArray previousRound = Nd4j.create(DataType.FLOAT, 16_000_000); // 64 MB "network copy" of round 1
        long allocated = RoundMemory.arrayBytes();
        assertTrue(allocated - before >= 64_000_000L, "counted: " + (allocated - before));
        previousRound = null;

        long collections = RoundMemory.collections();
        hook.preUpdate((MultiDataSet) null, round1);
        hook.postUpdate((MultiDataSet) null, round1);
        assertEquals(collections, RoundMemory.collections(), "no collection within a round");
        hook.preUpdate((MultiDataSet) null, round2);
        assertEquals(collections + 1, RoundMemory.collections(), "one collection when the next round's network arrives");
        long deadline = System.nanoTime() + 10_000_000_000L; // ND4J's deallocator threads free after the collection
        while (RoundMemory.arrayBytes() > before + 1_000_000L && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(RoundMemory.arrayBytes() <= before + 1_000_000L,
                "the previous round's array was freed: " + (RoundMemory.arrayBytes() - before) + " bytes left");
    }

    @Test
    void turnedOffByTheProperty() {
        System.setProperty(RoundMemory.ENABLED_PROPERTY, "false");
        try {
            ParameterAveragingTrainingMaster master = RoundMemory.install(new ParameterAveragingTrainingMaster.Builder(1, 4).build());
            assertTrue(master.getTrainingHookList() == null
                    || master.getTrainingHookList().stream().noneMatch(h -> h instanceof RoundMemory.RoundStartHook));
        } finally {
            System.clearProperty(RoundMemory.ENABLED_PROPERTY);
        }
    }

    private static long settledArrayBytes() throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        long last = RoundMemory.arrayBytes();
        int stable = 0;
        while (stable < 3 && System.nanoTime() < deadline) {
            Thread.sleep(100);
            long now = RoundMemory.arrayBytes();
            stable = now == last ? stable + 1 : 0;
            last = now;
        }
        return last;
    }

    private static Model model() {
        return (Model) Proxy.newProxyInstance(Model.class.getClassLoader(), new Class<?>[] {Model.class},
                (proxy, method, args) -> method.getName().equals("equals") ? proxy == args[0]
                        : method.getName().equals("hashCode") ? System.identityHashCode(proxy) : null);
    }

    @SuppressWarnings("unchecked")
    private static <T> T roundTrip(T value) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(value);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return (T) in.readObject();
        }
    }
}
