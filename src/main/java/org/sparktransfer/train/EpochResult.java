package org.sparktransfer.train;

import java.io.Serializable;

/** One row of the training history. */
public record EpochResult(int epoch, double trainLoss, Double valLoss, Double valAccuracy, double learningRate,
                          long trainImages, double imagesPerSecond, double seconds, boolean best)
        implements Serializable {}
