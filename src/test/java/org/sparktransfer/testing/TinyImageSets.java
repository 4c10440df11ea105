package org.sparktransfer.testing;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;

/**
 * Small ImageFolder trees that a ResNet learns within an epoch or two: each class is a colour
 * with noise, so tests can assert on labels and accuracy without long training.
 */
public final class TinyImageSets {
    private TinyImageSets() {}

    public static final List<String> CLASSES = List.of("blue", "green", "red");
    private static final int[][] COLOURS = {{30, 60, 220}, {40, 200, 60}, {220, 40, 40}};

    /** Writes {@code perClass} PNGs per class under {@code root/<class>/}; returns the number written. */
    public static int write(Path root, int perClass, int size, long seed) throws IOException {
        Random rnd = new Random(seed);
        int n = 0;
        for (int c = 0; c < CLASSES.size(); c++) {
            Path dir = Files.createDirectories(root.resolve(CLASSES.get(c)));
            for (int i = 0; i < perClass; i++) {
                BufferedImage img = new BufferedImage(size, size + i % 5, BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < img.getHeight(); y++) {
                    for (int x = 0; x < size; x++) {
                        int r = clamp(COLOURS[c][0] + rnd.nextInt(61) - 30);
                        int g = clamp(COLOURS[c][1] + rnd.nextInt(61) - 30);
                        int b = clamp(COLOURS[c][2] + rnd.nextInt(61) - 30);
                        img.setRGB(x, y, (r << 16) | (g << 8) | b);
                    }
                }
                ImageIO.write(img, "png", dir.resolve(String.format("img-%03d.png", i)).toFile());
                n++;
            }
        }
        return n;
    }

    /** A file with an image extension that is not an image: must end up in rejects, not crash a job. */
    public static Path writeCorrupt(Path dir, String name) throws IOException {
        Files.createDirectories(dir);
        return Files.writeString(dir.resolve(name), "this is not a PNG");
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }
}
