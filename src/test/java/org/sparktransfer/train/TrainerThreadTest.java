package org.sparktransfer.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.factory.Nd4j;

class TrainerThreadTest {

    @Test
    void runsEveryCallOnOneThreadThatKeepsItsWorkspaces() {
        TrainerThread trainer = new TrainerThread();
        try {
            Thread first = trainer.call(Thread::currentThread);
            assertTrue(first.getName().startsWith("sparktransfer-trainer-"), first.getName());
            assertNotSame(Thread.currentThread(), first);
            // A workspace opened by one call is still there, with its memory, in the next.
            long bytes = trainer.call(() -> {
                WorkspaceConfiguration conf = WorkspaceConfiguration.builder().initialSize(1 << 20)
                        .policyAllocation(AllocationPolicy.STRICT).policyLearning(LearningPolicy.NONE).build();
                try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(conf, "TRAINER_TEST")) {
                    Nd4j.create(1000);
                }
                return Nd4j.getWorkspaceManager().getWorkspaceForCurrentThread("TRAINER_TEST").getCurrentSize();
            });
            assertEquals(1 << 20, bytes);
            assertTrue(trainer.call(() -> Nd4j.getWorkspaceManager().checkIfWorkspaceExists("TRAINER_TEST")));
            assertSame(first, trainer.call(Thread::currentThread));
            // A call from the trainer's own thread (one overload of a step calling another) runs in place.
            assertSame(first, trainer.call(() -> trainer.call(Thread::currentThread)));
            assertFalse(Nd4j.getWorkspaceManager().checkIfWorkspaceExists("TRAINER_TEST"), "not on the caller's thread");
        } finally {
            trainer.shutdown();
        }
    }

    @Test
    void rethrowsTheStepsExceptionOnTheCallersThread() {
        TrainerThread trainer = new TrainerThread();
        try {
            IllegalArgumentException thrown = new IllegalArgumentException("bad minibatch");
            assertSame(thrown, assertThrows(IllegalArgumentException.class, () -> trainer.call(() -> {
                throw thrown;
            })));
            OutOfMemoryError oom = new OutOfMemoryError("native");
            assertSame(oom, assertThrows(OutOfMemoryError.class, () -> trainer.call(() -> {
                throw oom;
            })));
            // Still usable after a failed step.
            assertEquals(42, trainer.call(() -> 42));
        } finally {
            trainer.shutdown();
        }
    }

    @Test
    void anIdleThreadEndsAndTheNextCallStartsAnother() throws Exception {
        TrainerThread trainer = new TrainerThread(100, TimeUnit.MILLISECONDS);
        try {
            Thread first = trainer.call(Thread::currentThread);
            first.join(10_000);
            assertFalse(first.isAlive(), "the idle thread ended");
            Thread second = trainer.call(Thread::currentThread);
            assertNotSame(first, second);
            assertFalse(trainer.call(() -> Nd4j.getWorkspaceManager().checkIfWorkspaceExists("TRAINER_TEST")));
        } finally {
            trainer.shutdown();
        }
    }
}
