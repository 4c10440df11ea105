package org.sparktransfer.train;

import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;

/** The optimizers a user can pick; DL4J has no plain momentum SGD, Nesterov momentum is the closest. */
public enum OptimizerKind {
    SGD, ADAM;

    public IUpdater updater(double learningRate, double momentum) {
        return switch (this) {
            case SGD -> new Nesterovs(learningRate, momentum);
            case ADAM -> new Adam(learningRate);
        };
    }
}
