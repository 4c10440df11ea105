package org.sparktransfer.testing;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A small generated ImageFolder ({@code <root>/<class>/<class>_NN.png}) whose classes a ResNet can
 * tell apart: class 0 is reddish with horizontal stripes, class 1 greenish with vertical stripes,
 * class 2 bluish with a checkerboard, further classes other hues; every image has its own seeded
 * noise and stripe phase. Optional bad files are truncated PNGs. Written to a local directory or
 * to any Hadoop FileSystem ({@code hdfs://}, {@code s3a://}, ...).
 *
 * <pre>{@code
 * TestImages.Folder f = TestImages.folder().classes("red", "green", "blue").perClass(8)
 *         .truncated("red/broken.png").writeTo(fs, new Path(root));
 * }</pre>
 */
public final class TestImages {
    private TestImages() {}

    public static Builder folder() {
        return new Builder();
    }

    /** What was written, as paths relative to the root ({@code class/file.png}). */
    public record Folder(String root, List<String> classes, List<String> good, List<String> bad) {
        public int total() {
            return good.size() + bad.size();
        }

        /** The class of a relative path: its first folder. */
        public static String labelOf(String relative) {
            return relative.substring(0, relative.indexOf('/'));
        }

        /** A CSV manifest {@code path,label} of every file (good and bad), paths relative to the root. */
        public String manifestCsv() {
            StringBuilder sb = new StringBuilder("path,label\n");
            for (String rel : concat(good, bad)) {
                sb.append(rel).append(',').append(labelOf(rel)).append('\n');
            }
            return sb.toString();
        }
    }

    public static final class Builder {
        private List<String> classes = List.of("red", "green", "blue");
        private int perClass = 8;
        private int width = 40;
        private int height = 40;
        private long seed = 7;
        private final List<String> truncated = new ArrayList<>();

        public Builder classes(String... names) {
            this.classes = List.of(names);
            return this;
        }

        public Builder perClass(int n) {
            this.perClass = n;
            return this;
        }

        public Builder size(int width, int height) {
            this.width = width;
            this.height = height;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Adds a PNG cut off after 60% of its bytes at this relative path (e.g. {@code red/broken.png}). */
        public Builder truncated(String relativePath) {
            truncated.add(relativePath);
            return this;
        }

        /** The files as bytes, relative path to content, in writing order. */
        public Map<String, byte[]> render() {
            Map<String, byte[]> files = new LinkedHashMap<>();
            Random rnd = new Random(seed);
            for (int c = 0; c < classes.size(); c++) {
                for (int i = 0; i < perClass; i++) {
                    String rel = classes.get(c) + "/" + classes.get(c) + String.format("_%02d.png", i);
                    files.put(rel, png(image(c, rnd)));
                }
            }
            for (String rel : truncated) {
                byte[] whole = png(image(0, rnd));
                files.put(rel, Arrays.copyOf(whole, whole.length * 6 / 10));
            }
            return files;
        }

        /** Writes the folder under a local directory (created if missing). */
        public Folder writeTo(java.nio.file.Path root) {
            Map<String, byte[]> files = render();
            try {
                for (var e : files.entrySet()) {
                    java.nio.file.Path file = root.resolve(e.getKey());
                    Files.createDirectories(file.getParent());
                    Files.write(file, e.getValue());
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return result(root.toUri().toString());
        }

        /** Writes the folder under {@code root} on a Hadoop file system. */
        public Folder writeTo(FileSystem fs, Path root) {
            Map<String, byte[]> files = render();
            try {
                for (var e : files.entrySet()) {
                    writeFile(fs, new Path(root, e.getKey()), e.getValue());
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return result(fs.makeQualified(root).toString());
        }

        private Folder result(String root) {
            List<String> good = new ArrayList<>();
            for (String c : classes) {
                for (int i = 0; i < perClass; i++) {
                    good.add(c + "/" + c + String.format("_%02d.png", i));
                }
            }
            return new Folder(root, classes, List.copyOf(good), List.copyOf(truncated));
        }

        private BufferedImage image(int cls, Random rnd) {
            int[][] hues = {{200, 40, 40}, {40, 190, 50}, {40, 60, 210}, {210, 200, 40}, {180, 40, 190}, {40, 190, 190}};
            int[] base = hues[cls % hues.length];
            int phase = rnd.nextInt(8);
            BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    boolean on = switch (cls % 3) {
                        case 0 -> ((y + phase) / 4) % 2 == 0;
                        case 1 -> ((x + phase) / 4) % 2 == 0;
                        default -> (((x + phase) / 5) + (y / 5)) % 2 == 0;
                    };
                    double shade = on ? 1.0 : 0.45;
                    int r = clamp(base[0] * shade + rnd.nextGaussian() * 12);
                    int g = clamp(base[1] * shade + rnd.nextGaussian() * 12);
                    int b = clamp(base[2] * shade + rnd.nextGaussian() * 12);
                    img.setRGB(x, y, (r << 16) | (g << 8) | b);
                }
            }
            return img;
        }
    }

    /** Writes bytes to a Hadoop path, replacing what is there. */
    public static void writeFile(FileSystem fs, Path file, byte[] content) throws IOException {
        try (OutputStream out = fs.create(file, true)) {
            out.write(content);
        }
    }

    public static void writeFile(FileSystem fs, Path file, String content) throws IOException {
        writeFile(fs, file, content.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] png(BufferedImage img) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (!ImageIO.write(img, "png", out)) {
                throw new IllegalStateException("no PNG writer");
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int clamp(double v) {
        return (int) Math.max(0, Math.min(255, Math.round(v)));
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
