package org.sparktransfer.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The averaging-frequency rule; {@code TrainingBehaviourTest} checks that a local run follows it. */
class AveragingRoundsTest {

    @Test
    void anExplicitFrequencyIsUsedAsGiven() {
        assertEquals(3, AveragingRounds.minibatchesPerRound(3, 1, "local[2]", 40));
        assertEquals(7, AveragingRounds.minibatchesPerRound(7, 4, "spark://host:7077", 40));
    }

    @Test
    void autoWithOneLocalWorkerFitsTheWholeEpochInOneRound() {
        assertEquals(40, AveragingRounds.minibatchesPerRound(0, 1, "local[2]", 40));
        assertEquals(40, AveragingRounds.minibatchesPerRound(0, 1, "local[*]", 40));
        assertEquals(40, AveragingRounds.minibatchesPerRound(0, 1, "local", 40));
        assertEquals(40, AveragingRounds.minibatchesPerRound(0, 1, "local[4, 1]", 40));
        assertEquals(1, AveragingRounds.minibatchesPerRound(0, 1, "local[2]", 0), "at least one minibatch per round");
        assertEquals(Integer.MAX_VALUE, AveragingRounds.minibatchesPerRound(0, 1, "local[2]", 1L << 40));
    }

    @Test
    void autoElsewhereAveragesEveryFiveMinibatches() {
        assertEquals(AveragingRounds.DEFAULT, AveragingRounds.minibatchesPerRound(0, 2, "local[2]", 40), "two workers need averaging");
        assertEquals(AveragingRounds.DEFAULT, AveragingRounds.minibatchesPerRound(0, 1, "spark://host:7077", 40),
                "on a cluster a round is what a lost executor repeats");
        assertEquals(AveragingRounds.DEFAULT, AveragingRounds.minibatchesPerRound(0, 1, "local-cluster[2,1,1024]", 40));
        assertEquals(AveragingRounds.DEFAULT, AveragingRounds.minibatchesPerRound(0, 1, "local[2,3]", 40),
                "local with task retries");
        assertEquals(AveragingRounds.DEFAULT, AveragingRounds.minibatchesPerRound(0, 1, "k8s://https://api:6443", 40));
    }

    @Test
    void localMastersWithoutRetries() {
        assertTrue(AveragingRounds.localWithoutRetries("local[16]"));
        assertFalse(AveragingRounds.localWithoutRetries("local[16,2]"));
        assertFalse(AveragingRounds.localWithoutRetries("yarn"));
        assertFalse(AveragingRounds.localWithoutRetries("localhost"));
    }

    @Test
    void theBoundCoversAPartialMinibatchPerPartition() {
        assertEquals(3, AveragingRounds.minibatchBound(21, 8, 1));
        assertEquals(5, AveragingRounds.minibatchBound(21, 8, 3), "e.g. 9 + 9 + 3 rows: 2 + 2 + 1 minibatches");
        assertEquals(2, AveragingRounds.minibatchBound(16, 8, 0));
    }
}
