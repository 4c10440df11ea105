package org.sparktransfer.data.image;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Objects;

/**
 * Immutable preprocessing configuration, the torchvision ImageNet recipe by default:
 * eval = {@code Resize(256) + CenterCrop(224) + ToTensor + Normalize(mean, std)},
 * train = {@code RandomResizedCrop(224, scale=(0.08, 1.0), ratio=(3/4, 4/3)) + RandomHorizontalFlip(0.5)
 * + ToTensor + Normalize(mean, std)}.
 *
 * <p>Mean and std are applied as float32, exactly as torchvision's {@code Normalize} does on a
 * float32 tensor, so {@link EvalTransform} can match torchvision bit for bit.
 */
public final class Preprocessing implements Serializable {
    private static final long serialVersionUID = 1L;

    public static final int DEFAULT_RESIZE_SIZE = 256;
    public static final int DEFAULT_CROP_SIZE = 224;
    private static final double[] IMAGENET_MEAN = {0.485, 0.456, 0.406};
    private static final double[] IMAGENET_STD = {0.229, 0.224, 0.225};

    private final int resizeSize;
    private final int cropSize;
    private final double[] mean;
    private final double[] std;
    private final double scaleMin;
    private final double scaleMax;
    private final double ratioMin;
    private final double ratioMax;

    /**
     * @param resizeSize target length of the shorter side before the eval center crop (&gt; 0)
     * @param cropSize   side of the square output of both transforms (&gt; 0)
     * @param mean       3 per-channel means (RGB order), finite
     * @param std        3 per-channel standard deviations (RGB order), finite and &gt; 0
     * @param scaleMin   RandomResizedCrop lower area fraction, 0 &lt; scaleMin &lt;= scaleMax
     * @param scaleMax   RandomResizedCrop upper area fraction
     * @param ratioMin   RandomResizedCrop lower aspect ratio (w/h), 0 &lt; ratioMin &lt;= ratioMax
     * @param ratioMax   RandomResizedCrop upper aspect ratio
     */
    public Preprocessing(int resizeSize, int cropSize, double[] mean, double[] std,
                         double scaleMin, double scaleMax, double ratioMin, double ratioMax) {
        if (resizeSize <= 0) {
            throw new IllegalArgumentException("resizeSize must be > 0: " + resizeSize);
        }
        if (cropSize <= 0) {
            throw new IllegalArgumentException("cropSize must be > 0: " + cropSize);
        }
        // 3 * crop^2 floats per image must fit an int offset arithmetic comfortably.
        if ((long) cropSize * cropSize * 3 > Integer.MAX_VALUE / 4) {
            throw new IllegalArgumentException("cropSize too large: " + cropSize);
        }
        this.resizeSize = resizeSize;
        this.cropSize = cropSize;
        this.mean = checkTriple("mean", mean, false);
        this.std = checkTriple("std", std, true);
        if (!(scaleMin > 0) || !(scaleMin <= scaleMax) || !Double.isFinite(scaleMax)) {
            throw new IllegalArgumentException("need 0 < scaleMin <= scaleMax < inf: " + scaleMin + ", " + scaleMax);
        }
        if (!(ratioMin > 0) || !(ratioMin <= ratioMax) || !Double.isFinite(ratioMax)) {
            throw new IllegalArgumentException("need 0 < ratioMin <= ratioMax < inf: " + ratioMin + ", " + ratioMax);
        }
        this.scaleMin = scaleMin;
        this.scaleMax = scaleMax;
        this.ratioMin = ratioMin;
        this.ratioMax = ratioMax;
    }

    private static double[] checkTriple(String name, double[] v, boolean positive) {
        if (v == null || v.length != 3) {
            throw new IllegalArgumentException(name + " needs exactly 3 values (RGB)");
        }
        for (double d : v) {
            if (!Double.isFinite(d) || (positive && !(d > 0))) {
                throw new IllegalArgumentException(name + " has an invalid value: " + Arrays.toString(v));
            }
        }
        return v.clone();
    }

    /** torchvision's ImageNet defaults: 256 / 224, ImageNet mean and std, scale (0.08, 1), ratio (3/4, 4/3). */
    public static Preprocessing imagenetDefaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder preset with this configuration. */
    public Builder toBuilder() {
        return new Builder().resizeSize(resizeSize).cropSize(cropSize).mean(mean).std(std)
                .scale(scaleMin, scaleMax).ratio(ratioMin, ratioMax);
    }

    public int resizeSize() { return resizeSize; }
    public int cropSize() { return cropSize; }
    public double[] mean() { return mean.clone(); }
    public double[] std() { return std.clone(); }
    public double scaleMin() { return scaleMin; }
    public double scaleMax() { return scaleMax; }
    public double ratioMin() { return ratioMin; }
    public double ratioMax() { return ratioMax; }

    /** Floats one transformed image occupies: 3 * cropSize * cropSize (CHW). */
    public int outputLength() {
        return 3 * cropSize * cropSize;
    }

    /**
     * Per channel, the normalized value of each byte: {@code ((float) v / 255f - (float) mean) / (float) std},
     * the same float32 operations as ToTensor + Normalize; shape [3][256].
     */
    float[][] normalizationTable() {
        float[][] lut = new float[3][256];
        for (int c = 0; c < 3; c++) {
            float m = (float) mean[c];
            float s = (float) std[c];
            for (int v = 0; v < 256; v++) {
                lut[c][v] = ((float) v / 255f - m) / s;
            }
        }
        return lut;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof Preprocessing)) return false;
        Preprocessing p = (Preprocessing) o;
        return resizeSize == p.resizeSize && cropSize == p.cropSize && Arrays.equals(mean, p.mean)
                && Arrays.equals(std, p.std) && scaleMin == p.scaleMin && scaleMax == p.scaleMax
                && ratioMin == p.ratioMin && ratioMax == p.ratioMax;
    }

    @Override
    public int hashCode() {
        return Objects.hash(resizeSize, cropSize, Arrays.hashCode(mean), Arrays.hashCode(std),
                scaleMin, scaleMax, ratioMin, ratioMax);
    }

    @Override
    public String toString() {
        return "Preprocessing{resize=" + resizeSize + ", crop=" + cropSize + ", mean=" + Arrays.toString(mean)
                + ", std=" + Arrays.toString(std) + ", scale=(" + scaleMin + ", " + scaleMax + "), ratio=("
                + ratioMin + ", " + ratioMax + ")}";
    }

    /** Mutable builder; {@link #build()} validates. */
    public static final class Builder {
        private int resizeSize = DEFAULT_RESIZE_SIZE;
        private int cropSize = DEFAULT_CROP_SIZE;
        private double[] mean = IMAGENET_MEAN.clone();
        private double[] std = IMAGENET_STD.clone();
        private double scaleMin = 0.08;
        private double scaleMax = 1.0;
        private double ratioMin = 3.0 / 4.0;
        private double ratioMax = 4.0 / 3.0;

        private Builder() {
        }

        public Builder resizeSize(int v) { resizeSize = v; return this; }
        public Builder cropSize(int v) { cropSize = v; return this; }
        public Builder mean(double... v) { mean = v == null ? null : v.clone(); return this; }
        public Builder std(double... v) { std = v == null ? null : v.clone(); return this; }
        public Builder scale(double min, double max) { scaleMin = min; scaleMax = max; return this; }
        public Builder ratio(double min, double max) { ratioMin = min; ratioMax = max; return this; }

        public Preprocessing build() {
            return new Preprocessing(resizeSize, cropSize, mean, std, scaleMin, scaleMax, ratioMin, ratioMax);
        }
    }
}
