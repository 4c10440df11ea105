package org.sparktransfer.data.image;

import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RandomResizedCrop + flip: determinism, parameter logic of torchvision's get_params, layout. */
class TrainTransformTest {
    private final Preprocessing p = Preprocessing.imagenetDefaults();
    private final TrainTransform train = new TrainTransform(p);
    private final BufferedImage img = ImageDecoderRejectTest.pattern(500, 375);

    @Test
    void sameSeedSameOutputDifferentSeedsDiffer() {
        float[] a = new float[p.outputLength()];
        float[] b = new float[p.outputLength()];
        train.apply(img, 123L, a, 0);
        train.apply(img, 123L, b, 0);
        assertArrayEquals(a, b);
        train.apply(img, new SplittableRandom(123L), b, 0);
        assertArrayEquals(a, b, "long seed == new SplittableRandom(seed)");
        Set<Integer> distinct = new HashSet<>();
        for (long s = 0; s < 20; s++) {
            train.apply(img, s, b, 0);
            distinct.add(Arrays.hashCode(b));
        }
        assertTrue(distinct.size() >= 19, "20 seeds gave only " + distinct.size() + " distinct crops");
    }

    @Test
    void writesExactlyItsSliceInChwOrder() {
        int len = p.outputLength();
        float[] out = new float[2 * len + 2];
        Arrays.fill(out, Float.NaN);
        train.apply(img, 1L, out, 1);
        train.apply(img, 2L, out, 1 + len);
        assertTrue(Float.isNaN(out[0]) && Float.isNaN(out[2 * len + 1]));
        for (int i = 1; i <= 2 * len; i++) {
            assertFalse(Float.isNaN(out[i]), "unwritten at " + i);
        }
        assertThrows(IllegalArgumentException.class, () -> train.apply(img, 1L, new float[len - 1], 0));
        // A uniform image gives each channel plane the normalized value of its color: CHW, R first.
        BufferedImage red = new BufferedImage(300, 300, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 300; y++) {
            for (int x = 0; x < 300; x++) {
                red.setRGB(x, y, 0xFF0000);
            }
        }
        float[] r = new float[len];
        train.apply(red, 5L, r, 0);
        int plane = len / 3;
        assertEquals((1f - 0.485f) / 0.229f, r[0], 1e-6);
        assertEquals((1f - 0.485f) / 0.229f, r[plane - 1], 1e-6);
        assertEquals((0f - 0.456f) / 0.224f, r[plane], 1e-6);
        assertEquals((0f - 0.406f) / 0.225f, r[2 * plane + 17], 1e-6);
    }

    @Test
    void flipMirrorsTheSameBox() {
        float[] a = new float[p.outputLength()];
        float[] b = new float[p.outputLength()];
        train.applyBox(img, 10, 20, 300, 250, false, a, 0);
        train.applyBox(img, 10, 20, 300, 250, true, b, 0);
        int s = p.cropSize();
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < s; y++) {
                for (int x = 0; x < s; x++) {
                    assertEquals(a[c * s * s + y * s + x], b[c * s * s + y * s + s - 1 - x]);
                }
            }
        }
        // About half of the seeds flip: count how often apply() equals the unflipped box output.
        int flips = 0;
        for (long seed = 0; seed < 400; seed++) {
            SplittableRandom r = new SplittableRandom(seed);
            int[] box = train.cropBox(500, 375, r);
            boolean flip = r.nextDouble() < 0.5;
            train.apply(img, seed, a, 0);
            train.applyBox(img, box[0], box[1], box[2], box[3], flip, b, 0);
            assertArrayEquals(b, a, "apply = cropBox + flip draw + applyBox, seed " + seed);
            flips += flip ? 1 : 0;
        }
        assertTrue(flips > 150 && flips < 250, "flips " + flips);
    }

    /** Accepted boxes satisfy torchvision's constraints (inside the image, area and ratio ranges). */
    @Test
    void cropBoxFollowsTorchvisionGetParams() {
        SplittableRandom rng = new SplittableRandom(99);
        int n = 20000;
        double sumFrac = 0;
        double sumLogRatio = 0;
        for (int k = 0; k < n; k++) {
            int[] b = train.cropBox(500, 375, rng);
            int top = b[0], left = b[1], h = b[2], w = b[3];
            assertTrue(top >= 0 && left >= 0 && h > 0 && w > 0 && top + h <= 375 && left + w <= 500, Arrays.toString(b));
            double ratio = (double) w / h;
            // Rounding w and h to integers can move the ratio slightly outside [3/4, 4/3].
            assertTrue(ratio > 0.75 * 0.97 && ratio < 4.0 / 3 * 1.03, "ratio " + ratio);
            double frac = (double) w * h / (500 * 375);
            assertTrue(frac > 0.08 * 0.95 && frac <= 1.0, "area " + frac);
            sumFrac += frac;
            sumLogRatio += Math.log(ratio);
        }
        // The distribution itself is compared with torchvision's in TorchvisionParityTest.
        assertTrue(sumFrac / n > 0.3 && Math.abs(sumLogRatio / n) < 0.2);
    }

    @Test
    void fallbackIsTorchvisionsCenterCrop() {
        // Areas above the image never fit: all 10 attempts fail, torchvision falls back.
        Preprocessing big = Preprocessing.builder().scale(2.0, 3.0).build();
        TrainTransform t = new TrainTransform(big);
        SplittableRandom rng = new SplittableRandom(1);
        // in_ratio 1000/200 = 5 > 4/3: h = 200, w = round(200 * 4/3) = 267, centered.
        assertArrayEquals(new int[] {0, (1000 - 267) / 2, 200, 267}, t.cropBox(1000, 200, rng));
        // in_ratio 100/400 = 0.25 < 3/4: w = 100, h = round(100 / 0.75) = 133.
        assertArrayEquals(new int[] {(400 - 133) / 2, 0, 133, 100}, t.cropBox(100, 400, rng));
        // in ratio inside the range: whole image.
        assertArrayEquals(new int[] {0, 0, 300, 320}, t.cropBox(320, 300, rng));
    }

    @Test
    void tinyImagesWork() {
        BufferedImage one = ImageDecoderRejectTest.pattern(1, 1);
        float[] out = new float[p.outputLength()];
        train.apply(one, 3L, out, 0);
        new EvalTransform(p).apply(one, out, 0);
        BufferedImage thin = ImageDecoderRejectTest.pattern(3, 700);
        train.apply(thin, 4L, out, 0);
        new EvalTransform(p).apply(thin, out, 0);
    }

    @Test
    void preprocessingValidates() {
        assertThrows(IllegalArgumentException.class, () -> Preprocessing.builder().cropSize(0).build());
        assertThrows(IllegalArgumentException.class, () -> Preprocessing.builder().resizeSize(-1).build());
        assertThrows(IllegalArgumentException.class, () -> Preprocessing.builder().mean(0.5, 0.5).build());
        assertThrows(IllegalArgumentException.class, () -> Preprocessing.builder().std(0.2, 0.0, 0.2).build());
        assertThrows(IllegalArgumentException.class, () -> Preprocessing.builder().std(0.2, Double.NaN, 0.2).build());
        assertThrows(IllegalArgumentException.class, () -> Preprocessing.builder().scale(0.5, 0.1).build());
        assertThrows(IllegalArgumentException.class, () -> Preprocessing.builder().scale(0.0, 1.0).build());
        assertThrows(IllegalArgumentException.class, () -> Preprocessing.builder().ratio(2.0, 1.0).build());
        Preprocessing d = Preprocessing.imagenetDefaults();
        assertEquals(256, d.resizeSize());
        assertEquals(224, d.cropSize());
        assertEquals(3 * 224 * 224, d.outputLength());
        assertEquals(d, d.toBuilder().build());
        double[] m = d.mean();
        m[0] = 9;
        assertEquals(0.485, d.mean()[0], "immutable");
        Preprocessing small = d.toBuilder().resizeSize(160).cropSize(128).build();
        float[] out = new float[small.outputLength()];
        new EvalTransform(small).apply(img, out, 0);
        new TrainTransform(small).apply(img, 1L, out, 0);
    }

    @Test
    void evalCenterCropMatchesTorchvisionRounding() {
        // torchvision 0.14: int(256 * long / short) and round-half-even offsets.
        assertArrayEquals(new int[] {341, 256}, EvalTransform.resizedSize(500, 375, 256));
        assertArrayEquals(new int[] {256, 384}, EvalTransform.resizedSize(333, 500, 256));
        assertArrayEquals(new int[] {6400, 256}, EvalTransform.resizedSize(1000, 40, 256));
        assertEquals(58, EvalTransform.centerCropOffset(341, 224)); // round(58.5) = 58
        assertEquals(16, EvalTransform.centerCropOffset(256, 224));
        assertEquals(2, EvalTransform.centerCropOffset(229, 224)); // round(2.5) = 2
        assertEquals(4, EvalTransform.centerCropOffset(231, 224)); // round(3.5) = 4
        assertEquals(-2, EvalTransform.centerCropOffset(219, 224)); // pad (224-219)//2 = 2 on the left
        // Crop larger than the resized image: the padding is black before normalization.
        Preprocessing pad = Preprocessing.builder().resizeSize(100).cropSize(120).build();
        float[] out = new float[pad.outputLength()];
        new EvalTransform(pad).apply(img, out, 0);
        assertEquals((0f - 0.485f) / 0.229f, out[0], 0f, "top-left is padding");
    }
}
