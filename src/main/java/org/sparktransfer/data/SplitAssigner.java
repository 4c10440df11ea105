package org.sparktransfer.data;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import org.apache.spark.unsafe.hash.Murmur3_x86_32;

/**
 * Assigns each image to train or validation from a hash of its path relative to the data root and
 * the seed. Each image's side depends on nothing else, so adding images never moves the others,
 * and the split is stratified in expectation within every class.
 */
public final class SplitAssigner implements Serializable {
    private static final long serialVersionUID = 1L;
    public static final String TRAIN = "train";
    public static final String VALIDATION = "validation";

    private final double validationFraction;
    private final int seed;

    public SplitAssigner(double validationFraction, long seed) {
        if (!(validationFraction >= 0 && validationFraction < 1)) {
            throw new IllegalArgumentException("validation fraction must be in [0, 1), got " + validationFraction);
        }
        this.validationFraction = validationFraction;
        this.seed = Long.hashCode(seed);
    }

    public String assign(String relativePath) {
        return unitHash(relativePath) < validationFraction ? VALIDATION : TRAIN;
    }

    /** A uniform number in [0, 1) from the path and the seed. */
    double unitHash(String relativePath) {
        byte[] bytes = relativePath.getBytes(StandardCharsets.UTF_8);
        int h = Murmur3_x86_32.hashUnsafeBytes(bytes, org.apache.spark.unsafe.Platform.BYTE_ARRAY_OFFSET, bytes.length, seed);
        return (h & 0x7fffffffL) / (double) (1L << 31);
    }
}
