package org.sparktransfer.data.image;

import java.awt.image.BufferedImage;
import java.io.Serializable;
import java.util.SplittableRandom;

/**
 * torchvision's train pipeline: {@code RandomResizedCrop(cropSize, scale, ratio)} (bilinear, antialiased
 * like PIL), {@code RandomHorizontalFlip(0.5)}, {@code ToTensor()}, {@code Normalize(mean, std)}.
 *
 * <p>The crop box follows {@code RandomResizedCrop.get_params} of torchvision 0.14: up to 10 attempts of
 * area fraction ~ U(scale) and log aspect ratio ~ U(log ratio), {@code w = round(sqrt(area * ratio))},
 * {@code h = round(sqrt(area / ratio))} (half-to-even); accepted if it fits, with a uniform position;
 * otherwise a center crop clamped to the ratio range. The box is then cropped and resized to
 * cropSize x cropSize exactly as PIL's {@code img.crop(box).resize(..., BILINEAR)} (see
 * {@link #applyBox}). Random numbers come from {@link SplittableRandom}, not torch's generator, so the
 * crops are distributed like torchvision's but not the same draws.
 *
 * <p>Deterministic for a given seed: the caller derives the seed (run seed, epoch, image key) so crops
 * differ per epoch and are reproducible. Stateless and thread-safe.
 */
public final class TrainTransform implements Serializable {
    private static final long serialVersionUID = 1L;

    private final Preprocessing p;
    private final EvalTransform normalizer;

    public TrainTransform(Preprocessing p) {
        if (p == null) {
            throw new IllegalArgumentException("preprocessing must not be null");
        }
        this.p = p;
        this.normalizer = new EvalTransform(p);
    }

    public Preprocessing preprocessing() {
        return p;
    }

    /** Same as {@link #apply(BufferedImage, SplittableRandom, float[], int)} with {@code new SplittableRandom(seed)}. */
    public void apply(BufferedImage rgb, long seed, float[] out, int offset) {
        apply(rgb, new SplittableRandom(seed), out, offset);
    }

    /**
     * Writes the augmented, normalized CHW tensor (3 * cropSize * cropSize floats) to {@code out[offset ..]};
     * draws the crop box and then the flip from {@code rng}.
     */
    public void apply(BufferedImage rgb, SplittableRandom rng, float[] out, int offset) {
        int[] box = cropBox(rgb.getWidth(), rgb.getHeight(), rng);
        boolean flip = rng.nextDouble() < 0.5;
        applyBox(rgb, box[0], box[1], box[2], box[3], flip, out, offset);
    }

    /**
     * torchvision's {@code RandomResizedCrop.get_params}: returns {top, left, height, width} as torchvision
     * names them {@code (i, j, h, w)}.
     */
    public int[] cropBox(int width, int height, SplittableRandom rng) {
        double area = (double) height * width;
        double logRatioMin = Math.log(p.ratioMin());
        double logRatioMax = Math.log(p.ratioMax());
        for (int attempt = 0; attempt < 10; attempt++) {
            double targetArea = area * uniform(rng, p.scaleMin(), p.scaleMax());
            double aspect = Math.exp(uniform(rng, logRatioMin, logRatioMax));
            int w = (int) Math.rint(Math.sqrt(targetArea * aspect));
            int h = (int) Math.rint(Math.sqrt(targetArea / aspect));
            if (0 < w && w <= width && 0 < h && h <= height) {
                int i = rng.nextInt(height - h + 1);
                int j = rng.nextInt(width - w + 1);
                return new int[] {i, j, h, w};
            }
        }
        double inRatio = (double) width / height;
        int w;
        int h;
        if (inRatio < p.ratioMin()) {
            w = width;
            h = (int) Math.rint(w / p.ratioMin());
        } else if (inRatio > p.ratioMax()) {
            h = height;
            w = (int) Math.rint(h * p.ratioMax());
        } else {
            w = width;
            h = height;
        }
        return new int[] {(height - h) / 2, (width - w) / 2, h, w};
    }

    private static double uniform(SplittableRandom rng, double lo, double hi) {
        return lo == hi ? lo : lo + (hi - lo) * rng.nextDouble();
    }

    /**
     * PIL's {@code resized_crop(img, top, left, height, width, (crop, crop), BILINEAR)}, optionally
     * horizontally flipped, then ToTensor + Normalize into {@code out[offset ..]}. The box must lie inside
     * the image (get_params guarantees it).
     */
    public void applyBox(BufferedImage rgb, int top, int left, int height, int width, boolean flip,
                         float[] out, int offset) {
        int crop = p.cropSize();
        int plane = crop * crop;
        if (offset < 0 || out.length - offset < 3 * plane) {
            throw new IllegalArgumentException("out too small: need " + 3 * plane + " floats at " + offset);
        }
        RgbPixels src = RgbPixels.of(rgb);
        if (top < 0 || left < 0 || height <= 0 || width <= 0
                || top + height > src.height || left + width > src.width) {
            throw new IllegalArgumentException("crop box outside the image");
        }
        int[] region = ResizedCrop.region(src, left, top, width, height, crop, crop, 0, crop, 0, crop);
        float[][] l = normalizer.lut();
        float[] lr = l[0];
        float[] lg = l[1];
        float[] lb = l[2];
        for (int y = 0; y < crop; y++) {
            int s = y * crop;
            int dst = offset + y * crop;
            for (int x = 0; x < crop; x++) {
                int px = region[s + (flip ? crop - 1 - x : x)];
                out[dst + x] = lr[(px >>> 16) & 0xFF];
                out[plane + dst + x] = lg[(px >>> 8) & 0xFF];
                out[2 * plane + dst + x] = lb[px & 0xFF];
            }
        }
    }
}
