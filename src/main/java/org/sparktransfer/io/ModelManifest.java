package org.sparktransfer.io;

import java.util.List;
import java.util.Map;

/**
 * What a model artifact is, in JSON next to the network: enough to score with it (classes, input
 * size and normalisation travel with the weights) and to audit where it came from.
 */
public record ModelManifest(
        int formatVersion,
        String modelId,
        String createdAt,
        String projectVersion,
        String arch,
        List<String> classes,
        int inputSize,
        int resizeSize,
        double[] mean,
        double[] std,
        String freeze,
        String weightsSource,
        Map<String, Object> hyperParameters,
        String dataFingerprint,
        Map<String, Double> metrics) {

    public static final int FORMAT_VERSION = 1;
}
