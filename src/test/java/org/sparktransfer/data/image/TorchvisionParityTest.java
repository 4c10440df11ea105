package org.sparktransfer.data.image;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parity with PIL 9.4 + torchvision 0.14 on files PIL writes during the test: JPEG (baseline 4:2:0,
 * progressive, 4:4:4, 4:2:2 at an odd size, CMYK, grayscale, progressive grayscale, 3x2, EXIF orientation 6), PNG (8-bit RGB, 16-bit grayscale, palette
 * with transparency, 4-bit palette, 1-bit, RGBA, LA, EXIF orientations 2..8, 50x37, 1000x40), BMP, GIF,
 * TIFF (LZW RGB, CMYK, deflate grayscale).
 *
 * <p>Tolerance, measured and asserted: decoded RGB bytes identical (max |diff| = 0) for every file,
 * including JPEG on both of our decoders (libjpeg-turbo, and the JDK's libjpeg-6b-derived ImageIO reader: with
 * Debian's libjpeg-turbo under PIL all three use the islow IDCT and libjpeg 6b's fancy upsampling), and the normalized eval tensors identical (max |diff| = 0.0f). The
 * assertions keep a margin of 1e-6 on tensors so a different libm or BLAS in CI does not make them flaky;
 * decode is asserted exact. Python side: {@code Image.open}, {@code exif_transpose}, {@code convert('RGB')}.
 */
class TorchvisionParityTest {
    static final double TENSOR_TOLERANCE = 1e-6;

    @TempDir
    static Path dir;
    static List<String> names;

    @BeforeAll
    static void generate() throws Exception {
        PythonReference.run(300, "generate", dir.toString());
        PythonReference.run(300, "reference", dir.toString());
        names = new ArrayList<>();
        for (String n : Files.readAllLines(dir.resolve("manifest.txt"))) {
            if (!n.isBlank()) {
                names.add(n.trim());
            }
        }
        assertTrue(names.size() >= 20, "manifest lists the generated images");
    }

    private static BufferedImage decode(String name) throws Exception {
        return new ImageDecoder(ImageDecoder.DEFAULT_MAX_PIXELS).decodeRgb(Files.readAllBytes(dir.resolve(name)));
    }

    /**
     * Both decoders against PIL: {@code decodeRgb} (libjpeg-turbo for the JPEGs it accepts) and ImageIO alone,
     * which decodes what libjpeg-turbo declines (CMYK, bad data) and every JPEG where the preset is missing.
     */
    @Test
    void decodedPixelsEqualPil() throws Exception {
        StringBuilder report = new StringBuilder();
        ImageDecoder decoder = new ImageDecoder(ImageDecoder.DEFAULT_MAX_PIXELS);
        for (String n : names) {
            byte[] bytes = Files.readAllBytes(dir.resolve(n));
            boolean turbo = TurboJpeg.decode(bytes, ImageDecoder.DEFAULT_MAX_PIXELS) != null;
            assertPil(n + (turbo ? " (libjpeg-turbo)" : ""), decoder.decodeRgb(bytes), report);
            assertPil(n + " (ImageIO)", decoder.decodeRgbWithImageIo(bytes), report);
        }
        System.out.print(report);
    }

    private static void assertPil(String n, BufferedImage img, StringBuilder report) throws Exception {
        assertEquals(BufferedImage.TYPE_INT_RGB, img.getType(), n);
        int[] ref = PythonReference.readRgb(dir.resolve(n.split(" ")[0] + ".rgb"));
        assertEquals(ref[0] + "x" + ref[1], img.getWidth() + "x" + img.getHeight(), n + ": size after exif_transpose");
        int max = 0;
        long differing = 0;
        for (int y = 0; y < ref[1]; y++) {
            for (int x = 0; x < ref[0]; x++) {
                int a = img.getRGB(x, y);
                int b = ref[2 + y * ref[0] + x];
                for (int s = 0; s <= 16; s += 8) {
                    int d = Math.abs(((a >> s) & 0xFF) - ((b >> s) & 0xFF));
                    max = Math.max(max, d);
                    differing += d > 0 ? 1 : 0;
                }
            }
        }
        report.append(String.format("%-42s %4dx%-4d decode max|diff|=%d (%d samples differ)%n",
                n, ref[0], ref[1], max, differing));
        assertEquals(0, max, n + ": decoded pixels differ from PIL's convert('RGB')");
    }

    @Test
    void evalTensorsEqualTorchvision() throws Exception {
        EvalTransform eval = new EvalTransform(Preprocessing.imagenetDefaults());
        int len = Preprocessing.imagenetDefaults().outputLength();
        for (String n : names) {
            float[] ref = PythonReference.readF32(dir.resolve(n + ".f32"));
            assertEquals(len, ref.length, n);
            float[] out = new float[len + 7];
            out[0] = 42f;
            eval.apply(decode(n), out, 5);
            double max = 0;
            for (int i = 0; i < len; i++) {
                max = Math.max(max, Math.abs(out[5 + i] - ref[i]));
            }
            System.out.printf("%-22s eval max|diff|=%.3g%n", n, max);
            assertTrue(max <= TENSOR_TOLERANCE, n + ": eval tensor differs from torchvision by " + max);
            assertEquals(42f, out[0], "writes nothing before offset");
            assertEquals(0f, out[len + 5], "writes nothing after offset + length");
        }
    }

    /**
     * Our crop-box sampler against torchvision's {@code RandomResizedCrop.get_params} (torch's RNG, so
     * only distributions can agree): means of area fraction, log aspect ratio and box centre over 20,000
     * draws, within about 4 standard errors of the difference of two means.
     */
    @Test
    void cropBoxDistributionMatchesTorchvision() throws Exception {
        TrainTransform train = new TrainTransform(Preprocessing.imagenetDefaults());
        int n = 20000;
        for (int[] size : new int[][] {{500, 375}, {1000, 200}, {240, 320}}) {
            String[] ref = PythonReference.run(300, "crop_stats", "" + size[0], "" + size[1], "" + n).trim().split("\\s+");
            double[] mine = new double[4];
            SplittableRandom rng = new SplittableRandom(2024);
            for (int k = 0; k < n; k++) {
                int[] b = train.cropBox(size[0], size[1], rng);
                mine[0] += (double) b[3] * b[2] / (size[0] * size[1]);
                mine[1] += Math.log((double) b[3] / b[2]);
                mine[2] += (b[1] + b[3] / 2.0) / size[0];
                mine[3] += (b[0] + b[2] / 2.0) / size[1];
            }
            double[] tol = {0.012, 0.007, 0.01, 0.01};
            String[] what = {"area fraction", "log ratio", "centre x", "centre y"};
            for (int i = 0; i < 4; i++) {
                double m = mine[i] / n;
                double t = Double.parseDouble(ref[i]);
                System.out.printf("%dx%d %-13s java %.4f torchvision %.4f%n", size[0], size[1], what[i], m, t);
                assertEquals(t, m, tol[i], size[0] + "x" + size[1] + " mean " + what[i]);
            }
        }
    }

    /** Same boxes through {@link TrainTransform#applyBox} and torchvision's {@code F.resized_crop}. */
    @Test
    void resizedCropEqualsTorchvision() throws Exception {
        Preprocessing p = Preprocessing.imagenetDefaults();
        TrainTransform train = new TrainTransform(p);
        String[] files = {"jpeg_baseline.jpg", "png_rgb.png", "png_small.png", "png_wide.png", "jpeg_exif6.jpg"};
        SplittableRandom rng = new SplittableRandom(7);
        StringBuilder spec = new StringBuilder();
        List<Object[]> boxes = new ArrayList<>();
        for (String n : files) {
            BufferedImage img = decode(n);
            List<int[]> bs = new ArrayList<>();
            for (int k = 0; k < 3; k++) {
                bs.add(train.cropBox(img.getWidth(), img.getHeight(), rng));
            }
            bs.add(new int[] {0, 0, img.getHeight(), img.getWidth()}); // whole image
            bs.add(new int[] {img.getHeight() - 1, img.getWidth() - 1, 1, 1}); // one pixel
            for (int[] b : bs) {
                spec.append(n).append(' ').append(b[0]).append(' ').append(b[1]).append(' ')
                        .append(b[2]).append(' ').append(b[3]).append(' ').append(p.cropSize()).append('\n');
                boxes.add(new Object[] {n, img, b});
            }
        }
        Path specFile = dir.resolve("boxes.txt");
        Files.writeString(specFile, spec.toString());
        PythonReference.run(300, "resized_crop", dir.toString(), specFile.toString());
        int len = p.outputLength();
        int plane = p.cropSize() * p.cropSize();
        for (Object[] o : boxes) {
            int[] b = (int[]) o[2];
            String key = o[0] + "." + b[0] + "_" + b[1] + "_" + b[2] + "_" + b[3];
            float[] ref = PythonReference.readF32(dir.resolve(key + ".f32"));
            float[] out = new float[len];
            train.applyBox((BufferedImage) o[1], b[0], b[1], b[2], b[3], false, out, 0);
            float[] flipped = new float[len];
            train.applyBox((BufferedImage) o[1], b[0], b[1], b[2], b[3], true, flipped, 0);
            double max = 0;
            double maxFlip = 0;
            int s = p.cropSize();
            for (int i = 0; i < len; i++) {
                max = Math.max(max, Math.abs(out[i] - ref[i]));
                int c = i / plane;
                int y = (i % plane) / s;
                int x = i % s;
                maxFlip = Math.max(maxFlip, Math.abs(flipped[c * plane + y * s + (s - 1 - x)] - ref[i]));
            }
            assertTrue(max <= TENSOR_TOLERANCE, key + ": resized crop differs from torchvision by " + max);
            assertTrue(maxFlip <= TENSOR_TOLERANCE, key + ": flipped crop is not the mirror image: " + maxFlip);
        }
    }
}
