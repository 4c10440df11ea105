package org.sparktransfer.train;

import java.io.Serializable;

/**
 * The learning rate per epoch: linear warm-up from base/10 over the first warm-up epochs, then
 * constant, step decay (x gamma every stepEpochs) or cosine decay to zero at the last epoch.
 */
public record LearningRateSchedule(Kind kind, double baseRate, int warmupEpochs, int totalEpochs,
                                   int stepEpochs, double gamma) implements Serializable {

    public enum Kind { CONSTANT, STEP, COSINE }

    public LearningRateSchedule {
        if (!(baseRate > 0)) {
            throw new IllegalArgumentException("learning rate must be positive, got " + baseRate);
        }
        if (warmupEpochs < 0 || totalEpochs < 1 || stepEpochs < 1 || !(gamma > 0 && gamma <= 1)) {
            throw new IllegalArgumentException("invalid schedule: warm-up " + warmupEpochs + ", epochs "
                    + totalEpochs + ", step " + stepEpochs + ", gamma " + gamma);
        }
    }

    /** The rate for a 0-based epoch. */
    public double rate(int epoch) {
        if (epoch < warmupEpochs) {
            double start = baseRate / 10;
            return start + (baseRate - start) * epoch / warmupEpochs;
        }
        int after = epoch - warmupEpochs;
        return switch (kind) {
            case CONSTANT -> baseRate;
            case STEP -> baseRate * Math.pow(gamma, after / stepEpochs);
            case COSINE -> {
                int span = Math.max(1, totalEpochs - warmupEpochs);
                yield 0.5 * baseRate * (1 + Math.cos(Math.PI * after / span));
            }
        };
    }
}
