package org.sparktransfer.config;

import java.io.Serializable;
import org.sparktransfer.data.ImageSource;
import org.sparktransfer.data.image.Preprocessing;
import org.sparktransfer.model.FreezePolicy;
import org.sparktransfer.model.ResNetArch;
import org.sparktransfer.train.LearningRateSchedule;
import org.sparktransfer.train.OptimizerKind;

/** Everything a training run needs, validated before Spark starts; saved as run.json in the run. */
public record TrainConfig(
        ImageSource images,
        String outputUri,
        String runName,
        ResNetArch arch,
        String weightsUri,
        FreezePolicy freeze,
        Preprocessing preprocessing,
        int epochs,
        OptimizerKind optimizer,
        double momentum,
        double weightDecay,
        LearningRateSchedule schedule,
        TrainingMasterSettings master,
        double validationFraction,
        long seed,
        double maxRejectFraction,
        long maxPixels,
        int earlyStoppingPatience,
        StoppingMetric earlyStoppingMetric,
        ClassWeights classWeights,
        boolean cacheFeatures,
        boolean resume) implements Serializable {

    /** The validation metric that picks the best epoch and drives early stopping. */
    public enum StoppingMetric { ACCURACY, LOSS }

    /** NONE: plain cross-entropy; BALANCED: weights n / (classes * n_c), as scikit-learn's "balanced". */
    public enum ClassWeights { NONE, BALANCED }

    /** The same run with other preprocessing (what the starting network expects). */
    public TrainConfig withPreprocessing(Preprocessing p) {
        return new TrainConfig(images, outputUri, runName, arch, weightsUri, freeze, p, epochs, optimizer, momentum,
                weightDecay, schedule, master, validationFraction, seed, maxRejectFraction, maxPixels,
                earlyStoppingPatience, earlyStoppingMetric, classWeights, cacheFeatures, resume);
    }

    public TrainConfig {
        if (epochs < 1) {
            throw new IllegalArgumentException("--epochs must be >= 1, got " + epochs);
        }
        if (!(validationFraction >= 0 && validationFraction < 1)) {
            throw new IllegalArgumentException("--val-fraction must be in [0, 1), got " + validationFraction);
        }
        if (!(maxRejectFraction >= 0 && maxRejectFraction <= 1)) {
            throw new IllegalArgumentException("--max-reject-fraction must be in [0, 1], got " + maxRejectFraction);
        }
        if (!(weightDecay >= 0) || !(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("--weight-decay must be >= 0 and --momentum in [0, 1)");
        }
        if (maxPixels < 1 || earlyStoppingPatience < 0) {
            throw new IllegalArgumentException("--max-pixels must be positive and --early-stopping-patience >= 0");
        }
        if (runName == null || !runName.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
            throw new IllegalArgumentException("--run-name must be letters, digits, '.', '_' or '-', got '" + runName + "'");
        }
    }
}
