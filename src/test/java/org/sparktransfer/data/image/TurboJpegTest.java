package org.sparktransfer.data.image;

import org.junit.jupiter.api.Test;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The libjpeg-turbo path: loaded on this platform, pixel-identical to ImageIO on the JPEGs it accepts (PIL
 * parity of both is {@code TorchvisionParityTest}'s), and declining everything ImageIO must classify.
 */
class TurboJpegTest {
    private static final long LIMIT = ImageDecoder.DEFAULT_MAX_PIXELS;

    /** Photo-like content: gradients, noise and hard edges, so the coder's every stage matters. */
    static BufferedImage photo(int w, int h, long seed, int type) {
        BufferedImage img = new BufferedImage(w, h, type);
        SplittableRandom rng = new SplittableRandom(seed);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int r = clip(128 + 100 * Math.sin(x / (w / 3.1 + 1) + seed) + rng.nextInt(-12, 13));
                int g = clip(255.0 * x / Math.max(w - 1, 1) + rng.nextInt(-12, 13));
                int b = (x / 7 + y / 5) % 3 == 0 ? 250 : clip(255.0 * y / Math.max(h - 1, 1));
                img.setRGB(x, y, r << 16 | g << 8 | b);
            }
        }
        return img;
    }

    private static int clip(double v) {
        return (int) Math.max(0, Math.min(255, v));
    }

    static byte[] jpeg(BufferedImage img, float quality, boolean progressive) throws Exception {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bo)) {
            ImageWriteParam p = writer.getDefaultWriteParam();
            p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(quality);
            if (progressive) {
                p.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
            }
            writer.setOutput(out);
            writer.write(null, new IIOImage(img, null, null), p);
        } finally {
            writer.dispose();
        }
        return bo.toByteArray();
    }

    private static int[] pixels(BufferedImage img) {
        assertEquals(BufferedImage.TYPE_INT_RGB, img.getType());
        return ((DataBufferInt) img.getRaster().getDataBuffer()).getData();
    }

    @Test
    void libjpegTurboLoadsOnLinuxX86() {
        // The build ships the linux-x86_64 natives; CI and the jobs' executors run there.
        assertTrue(TurboJpeg.available(), "leptonica's libjpeg-turbo did not load (see the log's warning)");
    }

    @Test
    void samePixelsAsImageIoAcrossSizesQualitiesAndModes() throws Exception {
        ImageDecoder decoder = new ImageDecoder(LIMIT);
        int[][] sizes = {{500, 375}, {333, 500}, {17, 9}, {1, 1}, {1, 40}, {257, 129}};
        int cases = 0;
        for (int[] s : sizes) {
            for (float q : new float[] {0.5f, 0.9f, 1.0f}) {
                for (boolean progressive : new boolean[] {false, true}) {
                    for (int type : new int[] {BufferedImage.TYPE_INT_RGB, BufferedImage.TYPE_BYTE_GRAY}) {
                        BufferedImage src = photo(s[0], s[1], cases, BufferedImage.TYPE_INT_RGB);
                        if (type == BufferedImage.TYPE_BYTE_GRAY) {
                            BufferedImage gray = new BufferedImage(s[0], s[1], type);
                            gray.getGraphics().drawImage(src, 0, 0, null);
                            src = gray;
                        }
                        byte[] bytes = jpeg(src, q, progressive);
                        String what = s[0] + "x" + s[1] + " q" + q + (progressive ? " progressive" : "")
                                + (type == BufferedImage.TYPE_BYTE_GRAY ? " gray" : "");
                        BufferedImage turbo = TurboJpeg.decode(bytes, LIMIT);
                        assertNotNull(turbo, what + ": declined");
                        assertArrayEquals(pixels(decoder.decodeRgbWithImageIo(bytes)), pixels(turbo), what);
                        cases++;
                    }
                }
            }
        }
        assertEquals(72, cases);
    }

    @Test
    void declinesWhatImageIoMustClassify() throws Exception {
        byte[] good = jpeg(photo(120, 80, 1, BufferedImage.TYPE_INT_RGB), 0.9f, false);
        assertNotNull(TurboJpeg.decode(good, LIMIT));
        // Truncated: libjpeg-turbo would fill the rest with grey and warn.
        assertNull(TurboJpeg.decode(Arrays.copyOf(good, good.length / 2), LIMIT));
        assertNull(TurboJpeg.decode(Arrays.copyOf(good, 40), LIMIT));
        // Entropy-coded data overwritten: a libjpeg warning or error.
        byte[] corrupt = good.clone();
        for (int i = good.length / 2; i < good.length / 2 + 64; i++) {
            corrupt[i] = (byte) 0xFF;
        }
        assertNull(TurboJpeg.decode(corrupt, LIMIT));
        // Over the pixel limit, and exactly at it (the limit is inclusive, as on the ImageIO path).
        assertNull(TurboJpeg.decode(good, 120 * 80 - 1));
        assertNotNull(TurboJpeg.decode(good, 120 * 80));
        // Not JPEG at all.
        assertNull(TurboJpeg.decode(ImageDecoderRejectTest.encode(photo(8, 8, 2, BufferedImage.TYPE_INT_RGB), "png"), LIMIT));
        assertNull(TurboJpeg.decode(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, 0, 1, 2, 3}, LIMIT));

        // And what ImageDecoder makes of the declined files: the ImageIO path's classification.
        ImageDecoder decoder = new ImageDecoder(LIMIT);
        assertEquals(RejectReason.TRUNCATED, assertThrows(ImageRejectedException.class,
                () -> decoder.decodeRgb(Arrays.copyOf(good, good.length / 2))).reason());
        assertEquals(RejectReason.TOO_MANY_PIXELS, assertThrows(ImageRejectedException.class,
                () -> new ImageDecoder(120 * 80 - 1).decodeRgb(good)).reason());
    }

    @Test
    void exifOrientationIsAppliedOnTheTurboPath() throws Exception {
        // A JPEG with an APP1 Exif segment saying orientation 6 (rotate 90 clockwise), spliced after SOI.
        BufferedImage src = photo(64, 32, 3, BufferedImage.TYPE_INT_RGB);
        byte[] plain = jpeg(src, 0.95f, false);
        byte[] exif = {'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1,
                0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0};
        byte[] withExif = new byte[plain.length + 4 + exif.length];
        withExif[0] = (byte) 0xFF;
        withExif[1] = (byte) 0xD8;
        withExif[2] = (byte) 0xFF;
        withExif[3] = (byte) 0xE1;
        withExif[4] = (byte) ((exif.length + 2) >> 8);
        withExif[5] = (byte) (exif.length + 2);
        System.arraycopy(exif, 0, withExif, 6, exif.length);
        System.arraycopy(plain, 2, withExif, 6 + exif.length, plain.length - 2);
        assertNotNull(TurboJpeg.decode(withExif, LIMIT), "the spliced file is a valid JPEG for libjpeg-turbo");
        ImageDecoder decoder = new ImageDecoder(LIMIT);
        BufferedImage rotated = decoder.decodeRgb(withExif);
        assertEquals(32, rotated.getWidth());
        assertEquals(64, rotated.getHeight());
        assertArrayEquals(pixels(decoder.decodeRgbWithImageIo(withExif)), pixels(rotated));
    }

    @Test
    void decodesConcurrently() throws Exception {
        List<byte[]> files = new ArrayList<>();
        List<int[]> expected = new ArrayList<>();
        ImageDecoder decoder = new ImageDecoder(LIMIT);
        for (int i = 0; i < 8; i++) {
            byte[] b = jpeg(photo(200 + i, 150, 10 + i, BufferedImage.TYPE_INT_RGB), 0.85f, i % 2 == 0);
            files.add(b);
            expected.add(pixels(decoder.decodeRgbWithImageIo(b)));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int offset = t;
                results.add(pool.submit(() -> {
                    for (int k = 0; k < 100; k++) {
                        int i = (k + offset) % files.size();
                        if (!Arrays.equals(expected.get(i), pixels(decoder.decodeRgb(files.get(i))))) {
                            return false;
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> r : results) {
                assertTrue(r.get(), "a concurrent decode differed");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void settingIsValidated() {
        assertFalse(TurboJpeg.probe("imageio"));
        assertFalse(TurboJpeg.probe(" ImageIO "));
        assertThrows(IllegalArgumentException.class, () -> TurboJpeg.probe("fast"));
    }
}
